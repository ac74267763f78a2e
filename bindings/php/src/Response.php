<?php

declare(strict_types=1);

namespace Starmile;

/**
 * An HTTP response, copied out of the library's sm_response (which is freed
 * at once), so it is a plain PHP value with no native resource behind it.
 * Header names are lower-case.
 */
final class Response
{
    /** @var int */
    private $statusCode;

    /** @var array<string, string[]> */
    private $headers;

    /** @var string */
    private $body;

    /**
     * @param array<string, string[]> $headers lower-case name => values
     */
    public function __construct(int $statusCode, array $headers, string $body)
    {
        $this->statusCode = $statusCode;
        $this->headers = $headers;
        $this->body = $body;
    }

    /** Parses the library's "name: value\n" lines. */
    public static function fromParts(int $statusCode, string $headerLines, string $body): self
    {
        $headers = [];
        foreach (explode("\n", $headerLines) as $line) {
            $colon = strpos($line, ':');
            if ($colon === false) {
                continue;
            }
            $headers[strtolower(substr($line, 0, $colon))][] = trim(substr($line, $colon + 1));
        }

        return new self($statusCode, $headers, $body);
    }

    public function getStatusCode(): int
    {
        return $this->statusCode;
    }

    /** @return array<string, string[]> lower-case name => values, in the order received */
    public function getHeaders(): array
    {
        return $this->headers;
    }

    public function hasHeader(string $name): bool
    {
        return isset($this->headers[strtolower($name)]);
    }

    /** @return string[] every value of the header (case-insensitive name); [] when absent */
    public function getHeader(string $name): array
    {
        return $this->headers[strtolower($name)] ?? [];
    }

    /** The header's values joined with ", "; "" when absent. */
    public function getHeaderLine(string $name): string
    {
        return implode(', ', $this->getHeader($name));
    }

    /** The raw body bytes. */
    public function getBody(): string
    {
        return $this->body;
    }

    /**
     * The body decoded as JSON (objects as associative arrays by default).
     *
     * @return mixed
     *
     * @throws \JsonException when the body is not JSON
     */
    public function json(bool $associative = true)
    {
        return json_decode($this->body, $associative, 512, JSON_THROW_ON_ERROR);
    }

    /** The server's X-Request-Id, or null. */
    public function getRequestId(): ?string
    {
        $values = $this->getHeader('x-request-id');

        return $values === [] ? null : $values[0];
    }
}
