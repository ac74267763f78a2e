<?php

declare(strict_types=1);

namespace Starmile;

use FFI;
use FFI\CData;
use Starmile\Exception\ErrorMapper;
use Starmile\Exception\InvalidArgumentException;
use Starmile\Exception\StarmileException;
use Starmile\Native\Library;

/**
 * A Starmile Partner API client: a thin layer over libstarmile's C ABI.
 *
 * The library does the work (token cache, refresh, retries, timeouts); this
 * class converts arguments, copies results out of native memory, frees what
 * the library hands out, and turns failures into Starmile\Exception\*.
 *
 *     $client = new Starmile\Client(['base_url' => ..., 'client_id' => ..., 'client_secret' => ...]);
 *     $data = $client->get('/v1/echo', ['query' => ['q' => 1]])->json();
 */
final class Client
{
    private const OPTIONS = ['json', 'body', 'headers', 'query', 'http_errors'];

    /** @var FFI kept here so the library stays loaded as long as this client lives */
    private $ffi;

    /** @var int the sm_client handle; 0 once closed */
    private $handle = 0;

    /** @var bool true for a client from persistent(): its handle belongs to the process, not this object */
    private $shared = false;

    /*
     * Out-parameters reused by every call instead of an FFI::new() each time
     * (a call never re-enters PHP, so one set per client is enough), with
     * their addresses. The string and error slots are NULL between calls:
     * whatever the library stores there is taken and the slot reset at once.
     */

    /** @var CData sm_response* */
    private $responseSlot;

    /** @var CData sm_response** */
    private $responseOut;

    /** @var CData char* (a token, the stats JSON) */
    private $stringSlot;

    /** @var CData char** */
    private $stringOut;

    /** @var CData char* */
    private $errorSlot;

    /** @var CData char** */
    private $errorOut;

    /** @var CData size_t */
    private $lengthSlot;

    /** @var CData size_t* */
    private $lengthOut;

    /**
     * @param array<string, mixed> $config the keys of CONTRACT §3 (base_url,
     *        client_id, client_secret, timeout_ms, max_retries, ...); keys not
     *        given come from the STARMILE_* environment variables
     *
     * @throws InvalidArgumentException for an unknown key, a wrong type, a bad URL ...
     */
    public function __construct(array $config = [])
    {
        $this->init();
        $this->handle = $this->openHandle('sm_client_new', self::encodeConfig($config));
    }

    /**
     * The process-wide client for this config (libstarmile's sm_client_shared):
     * its native client, and so its cached token, lives as long as the PHP
     * process. In PHP-FPM, every request a worker serves shares one token
     * instead of fetching its own. Same config (the same keys and values, in
     * the same order), same client; the environment fallback (STARMILE_*) is
     * read once, when the native client is created.
     *
     * Dropping the object does not free the native client. close() does, for
     * the whole process: the next persistent() with that config makes a new one.
     *
     * This needs the library to stay loaded between requests: under FPM that
     * means ffi.preload (see README). Without it PHP loads the library afresh
     * in each request and closes it at the end, and this returns an ordinary
     * client, freed with the request: a process-wide client there would be
     * leaked whenever the system loader really unloads the library, and
     * shared only when it happens to keep it mapped.
     *
     * @param array<string, mixed> $config as for the constructor
     *
     * @throws InvalidArgumentException for an unknown key, a wrong type, a bad URL ...
     */
    public static function persistent(array $config = []): self
    {
        if (!Library::isResident()) {
            return new self($config);
        }
        $client = (new \ReflectionClass(self::class))->newInstanceWithoutConstructor();
        $client->init();
        $client->shared = true;
        $client->handle = $client->openHandle('sm_client_shared', self::encodeConfig($config));

        return $client;
    }

    /** The library's version, "MAJOR.MINOR.PATCH". */
    public static function version(): string
    {
        return Library::ffi()->sm_version();
    }

    /**
     * A valid access token: the cached one while fresh, else a fetched one.
     * Treat it as a secret.
     */
    public function getToken(): string
    {
        $status = $this->ffi->sm_get_token($this->handle, $this->stringOut, null, $this->errorOut);
        if ($status !== 0) {
            $this->fail($status);
        }

        return $this->takeString($this->stringSlot, $this->stringOut) ?? '';
    }

    /**
     * Sends an authenticated request.
     *
     * @param string               $path    "/v1/..." (appended to base_url) or an absolute URL on base_url's origin
     * @param array<string, mixed> $options json (any value, sent as JSON), body (string), headers
     *        (name => string|string[]), query (array or string), http_errors (bool, default true:
     *        a status >= 400 throws)
     *
     * @throws Exception\ApiException            for a status >= 400 (a subclass for 403/404/409/422/429/5xx)
     * @throws Exception\AuthenticationException credentials refused, or 401 after a fresh token
     * @throws StarmileException                 network, timeout, bad input ... (see README)
     */
    public function request(string $method, string $path, array $options = []): Response
    {
        $method = strtoupper($method);
        if ($options === []) {
            // The common case, without the option handling below (same checks, same order).
            if (strpos($method, "\0") !== false || strpos($path, "\0") !== false) {
                self::assertNoNul(['method' => $method, 'path' => $path]);
            }

            return $this->send($method, $path, null, '', true);
        }
        $unknown = array_diff(array_keys($options), self::OPTIONS);
        if ($unknown !== []) {
            throw self::invalid('unknown request option(s): ' . implode(', ', $unknown) . '; allowed: ' . implode(', ', self::OPTIONS));
        }
        $path = self::withQuery($path, $options['query'] ?? null);
        self::assertNoNul(['method' => $method, 'path' => $path]);
        $headers = self::headerLines($options['headers'] ?? []);
        $body = self::bodyOf($options);

        return $this->send($method, $path, $headers === '' ? null : $headers, $body, (bool) ($options['http_errors'] ?? true));
    }

    /** @param array<string, mixed> $options see request() */
    public function get(string $path, array $options = []): Response
    {
        if ($options === [] && strpos($path, "\0") === false) {
            return $this->send('GET', $path, null, '', true); // request()'s fast path, one call less
        }

        return $this->request('GET', $path, $options);
    }

    /** @param array<string, mixed> $options see request() */
    public function post(string $path, array $options = []): Response
    {
        if ($options === [] && strpos($path, "\0") === false) {
            return $this->send('POST', $path, null, '', true); // request()'s fast path, one call less
        }

        return $this->request('POST', $path, $options);
    }

    /** @param array<string, mixed> $options see request() */
    public function put(string $path, array $options = []): Response
    {
        if ($options === [] && strpos($path, "\0") === false) {
            return $this->send('PUT', $path, null, '', true); // request()'s fast path, one call less
        }

        return $this->request('PUT', $path, $options);
    }

    /** @param array<string, mixed> $options see request() */
    public function patch(string $path, array $options = []): Response
    {
        if ($options === [] && strpos($path, "\0") === false) {
            return $this->send('PATCH', $path, null, '', true); // request()'s fast path, one call less
        }

        return $this->request('PATCH', $path, $options);
    }

    /** @param array<string, mixed> $options see request() */
    public function delete(string $path, array $options = []): Response
    {
        if ($options === [] && strpos($path, "\0") === false) {
            return $this->send('DELETE', $path, null, '', true); // request()'s fast path, one call less
        }

        return $this->request('DELETE', $path, $options);
    }

    /** Drops the cached token; the next call fetches a new one. */
    public function invalidateToken(): void
    {
        $status = $this->ffi->sm_client_invalidate_token($this->handle);
        if ($status !== 0) {
            $this->fail($status, false);
        }
    }

    /** Replaces the credentials (a rotated secret) and drops the cached token. */
    public function setCredentials(string $clientId, string $clientSecret): void
    {
        self::assertNoNul(['client_id' => $clientId, 'client_secret' => $clientSecret]);
        $status = $this->ffi->sm_client_set_credentials($this->handle, $clientId, $clientSecret, $this->errorOut);
        if ($status !== 0) {
            $this->fail($status);
        }
    }

    /**
     * The library's counters: token_fetches, token_fetch_failures, requests,
     * retries, reauth_replays, token_expires_at_ms ...
     *
     * @return array<string, mixed>
     */
    public function stats(): array
    {
        $status = $this->ffi->sm_client_stats($this->handle, $this->stringOut, $this->errorOut);
        if ($status !== 0) {
            $this->fail($status);
        }

        return json_decode($this->takeString($this->stringSlot, $this->stringOut) ?? '{}', true, 512, JSON_THROW_ON_ERROR);
    }

    /**
     * Frees the native client now. Later calls on this object throw. Called
     * by __destruct, except for a client from persistent(): closing one frees
     * it for the whole process, and every other object holding it then throws.
     */
    public function close(): void
    {
        if ($this->handle === 0) {
            return;
        }
        $this->ffi->sm_client_free($this->handle);
        $this->handle = 0;
    }

    public function __destruct()
    {
        // A persistent client's handle belongs to the process, not this object.
        if (!$this->shared) {
            $this->close();
        }
    }

    /** A copy would free the same native client twice. */
    private function __clone()
    {
    }

    /** @return never */
    public function __serialize(): array
    {
        throw new \LogicException('a Starmile\\Client holds a native handle and cannot be serialized');
    }

    /** @param array<string, mixed> $data */
    public function __unserialize(array $data): void
    {
        throw new \LogicException('a Starmile\\Client holds a native handle and cannot be unserialized');
    }

    /** Loads the library and allocates this client's out-parameters. */
    private function init(): void
    {
        $ffi = $this->ffi = Library::ffi();
        $this->responseSlot = $ffi->new('sm_response*');
        $this->responseOut = FFI::addr($this->responseSlot);
        $this->stringSlot = $ffi->new('char*');
        $this->stringOut = FFI::addr($this->stringSlot);
        $this->errorSlot = $ffi->new('char*');
        $this->errorOut = FFI::addr($this->errorSlot);
        $this->lengthSlot = $ffi->new('size_t');
        $this->lengthOut = FFI::addr($this->lengthSlot);
    }

    /** @param string $function sm_client_new or sm_client_shared */
    private function openHandle(string $function, string $configJson): int
    {
        $handle = $this->ffi->new('sm_client');
        $status = $this->ffi->$function($configJson, FFI::addr($handle), $this->errorOut);
        if ($status !== 0) {
            $this->fail($status);
        }

        return $handle->cdata;
    }

    /**
     * sm_request, the response copied out and freed, and a status >= 400
     * thrown when $httpErrors.
     */
    private function send(string $method, string $path, ?string $headers, string $body, bool $httpErrors): Response
    {
        $ffi = $this->ffi;
        $length = strlen($body);
        $buffer = null;
        if ($length > 0) {
            $buffer = $ffi->new("uint8_t[$length]");
            FFI::memcpy($buffer, $body, $length);
        }
        $status = $ffi->sm_request($this->handle, $method, $path, $headers, $buffer, $length, $this->responseOut, $this->errorOut);
        if ($status !== 0) {
            $this->fail($status);
        }

        $native = $this->responseSlot;
        try {
            $bytes = $ffi->sm_response_body($native, $this->lengthOut);
            $size = $this->lengthSlot->cdata;
            $code = $ffi->sm_response_status($native);
            $response = Response::fromParts(
                $code,
                $ffi->sm_response_headers($native) ?? '',
                ($size === 0 || FFI::isNull($bytes)) ? '' : FFI::string($bytes, $size)
            );
        } finally {
            $ffi->sm_response_free($native);
        }

        if ($httpErrors && $code >= 400) {
            throw ErrorMapper::fromResponse($method, $path, $response);
        }

        return $response;
    }

    /**
     * Throws the mapped exception for a failed call ($status is not SM_OK),
     * taking and freeing the library's message from the error slot.
     *
     * @param bool $hasError whether the call was given the error slot
     *
     * @return never
     */
    private function fail(int $status, bool $hasError = true): void
    {
        $message = ($hasError ? $this->takeString($this->errorSlot, $this->errorOut) : null) ?? 'libstarmile call failed';
        throw ErrorMapper::fromStatus($status, $this->ffi->sm_status_name($status), $message);
    }

    /**
     * Copies a string the library stored in one of the slots, frees it with
     * sm_string_free and resets the slot to NULL.
     */
    private function takeString(CData $slot, CData $address): ?string
    {
        if (FFI::isNull($slot)) {
            return null;
        }
        $copy = FFI::string($slot);
        $this->ffi->sm_string_free($slot);
        $address[0] = null;

        return $copy;
    }

    private static function encodeConfig(array $config): string
    {
        try {
            return json_encode((object) $config, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE | JSON_THROW_ON_ERROR);
        } catch (\JsonException $e) {
            throw self::invalid('config cannot be encoded as JSON: ' . $e->getMessage(), $e);
        }
    }

    /** @param array<string, mixed> $options */
    private static function bodyOf(array $options): string
    {
        if (array_key_exists('json', $options) && array_key_exists('body', $options)) {
            throw self::invalid('give either the "json" or the "body" option, not both');
        }
        if (array_key_exists('json', $options)) {
            try {
                return json_encode($options['json'], JSON_UNESCAPED_SLASHES | JSON_PRESERVE_ZERO_FRACTION | JSON_THROW_ON_ERROR);
            } catch (\JsonException $e) {
                throw self::invalid('the "json" option cannot be encoded as JSON: ' . $e->getMessage(), $e);
            }
        }
        $body = $options['body'] ?? '';
        if (!is_string($body)) {
            throw self::invalid('the "body" option must be a string, got ' . gettype($body));
        }

        return $body;
    }

    /** @param array<string, mixed>|string|null $query */
    private static function withQuery(string $path, $query): string
    {
        if ($query === null || $query === [] || $query === '') {
            return $path;
        }
        if (is_array($query)) {
            $query = http_build_query($query, '', '&', PHP_QUERY_RFC3986);
        } elseif (!is_string($query)) {
            throw self::invalid('the "query" option must be an array or a string');
        }

        return $path . (strpos($path, '?') === false ? '?' : '&') . ltrim($query, '?');
    }

    /**
     * "Name: value" lines for sm_request. A line feed inside a name or value
     * would start a header of its own, so it is refused here; the library
     * checks everything else (CR, the name's syntax, Authorization).
     *
     * @param mixed $headers
     */
    private static function headerLines($headers): string
    {
        if (!is_array($headers)) {
            throw self::invalid('the "headers" option must be an array of name => value(s)');
        }
        $lines = [];
        foreach ($headers as $name => $values) {
            if (!is_string($name)) {
                throw self::invalid('the "headers" option must map names to values, e.g. [\'X-Trace\' => \'1\']');
            }
            foreach ((array) $values as $value) {
                if (!is_scalar($value)) {
                    throw self::invalid("header $name: a value must be a string");
                }
                $line = $name . ': ' . $value;
                if (strpbrk($line, "\n\0") !== false) {
                    throw self::invalid("header $name: a line feed or NUL in a header name or value is not allowed");
                }
                $lines[] = $line;
            }
        }

        return implode("\n", $lines);
    }

    /**
     * C strings end at the first NUL: refuse one rather than let the library
     * see a silently shortened path or secret.
     *
     * @param array<string, string> $arguments
     */
    private static function assertNoNul(array $arguments): void
    {
        foreach ($arguments as $name => $value) {
            if (strpos($value, "\0") !== false) {
                throw self::invalid("$name must not contain a NUL byte");
            }
        }
    }

    private static function invalid(string $message, ?\Throwable $previous = null): InvalidArgumentException
    {
        return new InvalidArgumentException($message, 'SM_ERR_INVALID_ARGUMENT', 1, $previous);
    }
}
