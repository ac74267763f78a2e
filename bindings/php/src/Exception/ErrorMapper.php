<?php

declare(strict_types=1);

namespace Starmile\Exception;

use Starmile\Response;

/**
 * The one place where library statuses and HTTP statuses become exceptions
 * (CONTRACT §7). Nothing here retries or interprets; the library did that.
 */
final class ErrorMapper
{
    /** sm_status name => exception class; other names give StarmileException. */
    private const BY_STATUS_NAME = [
        'SM_ERR_INVALID_ARGUMENT' => InvalidArgumentException::class,
        'SM_ERR_AUTH' => AuthenticationException::class,
        'SM_ERR_UNAVAILABLE' => ServiceUnavailableException::class,
        'SM_ERR_NETWORK' => ConnectionException::class,
        'SM_ERR_TIMEOUT' => TimeoutException::class,
        'SM_ERR_PROTOCOL' => ProtocolException::class,
    ];

    /** HTTP status => exception class; 5xx and other statuses >= 400 are handled below. */
    private const BY_HTTP_STATUS = [
        403 => PermissionDeniedException::class,
        404 => NotFoundException::class,
        409 => ConflictException::class,
        422 => UnprocessableEntityException::class,
        429 => RateLimitException::class,
    ];

    /** How much of an error body goes into a message. */
    private const EXCERPT_BYTES = 200;

    /** A failed library call: its sm_status, that status's name and the library's message. */
    public static function fromStatus(int $status, string $statusName, string $message): StarmileException
    {
        $class = self::BY_STATUS_NAME[$statusName] ?? StarmileException::class;
        if ($class === AuthenticationException::class) {
            return new AuthenticationException($message, $statusName, $status);
        }

        return new $class($message, $statusName, $status);
    }

    /** The exception for a response of status 400 or above. */
    public static function fromResponse(string $method, string $path, Response $response): StarmileException
    {
        $status = $response->getStatusCode();
        $message = self::describe($method, $path, $response);
        if ($status === 401) {
            // The library already dropped the token, fetched a new one and
            // replayed the request once: the credentials really are refused.
            return new AuthenticationException($message, 'SM_OK', 401, $response);
        }
        $class = self::BY_HTTP_STATUS[$status] ?? ($status >= 500 ? InternalServerException::class : ApiException::class);

        return new $class($message, $response);
    }

    /** "GET /v1/x: HTTP 404: <the server's error message> (request id req_1)". */
    private static function describe(string $method, string $path, Response $response): string
    {
        $detail = '';
        $decoded = json_decode($response->getBody(), true);
        if (is_array($decoded) && isset($decoded['error'])) {
            $error = $decoded['error'];
            if (is_array($error)) {
                $detail = (string) ($error['message'] ?? $error['type'] ?? '');
            } elseif (is_string($error)) {
                $detail = $error . (isset($decoded['error_description']) ? ': ' . $decoded['error_description'] : '');
            }
        }
        if ($detail === '' && $response->getBody() !== '') {
            $detail = self::excerpt($response->getBody());
        }
        $path = explode('?', $path, 2)[0]; // a query may hold what does not belong in logs
        $message = sprintf('%s %s: HTTP %d', $method, $path, $response->getStatusCode());
        if ($detail !== '') {
            $message .= ': ' . $detail;
        }
        $requestId = $response->getRequestId();
        if ($requestId !== null) {
            $message .= " (request id $requestId)";
        }

        return $message;
    }

    private static function excerpt(string $body): string
    {
        $text = preg_replace('/[^\x20-\x7e]+/', ' ', substr($body, 0, self::EXCERPT_BYTES));

        return trim($text) . (strlen($body) > self::EXCERPT_BYTES ? '…' : '');
    }
}
