<?php

declare(strict_types=1);

namespace Starmile\Exception;

use Starmile\Response;

/**
 * The API answered with an HTTP status of 400 or above. Base of the typed
 * HTTP errors (PermissionDenied, NotFound, Conflict, UnprocessableEntity,
 * RateLimit, InternalServer); thrown as itself for any other status.
 */
class ApiException extends StarmileException
{
    /** @var Response */
    private $response;

    public function __construct(string $message, Response $response, ?\Throwable $previous = null)
    {
        parent::__construct($message, 'SM_OK', $response->getStatusCode(), $previous);
        $this->response = $response;
    }

    public function getStatusCode(): int
    {
        return $this->response->getStatusCode();
    }

    public function getResponse(): Response
    {
        return $this->response;
    }

    /** The server's X-Request-Id, for support requests. */
    public function getRequestId(): ?string
    {
        return $this->response->getRequestId();
    }
}
