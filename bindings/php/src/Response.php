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

    /** @var array<string, string[]>|null null until first needed: then parsed from $headerLines */
    private $headers;

    /** @var string|null the library's "name: value\n" lines, while not yet parsed */
    private $headerLines;

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

    /**
     * From the library's "name: value\n" lines. They are parsed on the first
     * header access: most callers only want the status and the body.
     */
    public static function fromParts(int $statusCode, string $headerLines, string $body): self
    {
        $response = new self($statusCode, [], $body);
        $response->headers = null;
        $response->headerLines = $headerLines;

        return $response;
    }

    /** @return array<string, string[]> */
    private function parsedHeaders(): array
    {
        if ($this->headers === null) {
            $headers = [];
            foreach (explode("\n", (string) $this->headerLines) as $line) {
                $colon = strpos($line, ':');
                if ($colon === false) {
                    continue;
                }
                $headers[strtolower(substr($line, 0, $colon))][] = trim(substr($line, $colon + 1));
            }
            $this->headers = $headers;
            $this->headerLines = null;
        }

        return $this->headers;
    }

    public function getStatusCode(): int
    {
        return $this->statusCode;
    }

    /** @return array<string, string[]> lower-case name => values, in the order received */
    public function getHeaders(): array
    {
        return $this->headers ?? $this->parsedHeaders();
    }

    public function hasHeader(string $name): bool
    {
        return isset(($this->headers ?? $this->parsedHeaders())[strtolower($name)]);
    }

    /** @return string[] every value of the header (case-insensitive name); [] when absent */
    public function getHeader(string $name): array
    {
        return ($this->headers ?? $this->parsedHeaders())[strtolower($name)] ?? [];
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
        if ($this->headers !== null) {
            return $this->headers['x-request-id'][0] ?? null;
        }
        // Not parsed yet: find the first line whose name is x-request-id
        // (any case), as parsing would, without parsing the rest.
        $lines = (string) $this->headerLines;
        $offset = 0;
        while (($at = stripos($lines, 'x-request-id:', $offset)) !== false) {
            if ($at === 0 || $lines[$at - 1] === "\n") {
                $start = $at + 13;
                $end = strpos($lines, "\n", $start);

                return trim($end === false ? substr($lines, $start) : substr($lines, $start, $end - $start));
            }
            $offset = $at + 1;
        }

        return null;
    }

    /**
     * Serialized as before the lazy parsing existed: status, parsed headers, body.
     *
     * @return string[]
     */
    public function __sleep(): array
    {
        $this->parsedHeaders();

        return ['statusCode', 'headers', 'body'];
    }
}
