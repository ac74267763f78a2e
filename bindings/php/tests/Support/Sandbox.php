<?php

declare(strict_types=1);

namespace Starmile\Tests\Support;

/**
 * Runs starmile-sandbox as a child process on a free loopback port and
 * drives its /_sandbox/* control API.
 *
 * The binary: env STARMILE_SANDBOX_BIN, else target/release/starmile-sandbox
 * of the repository this package sits in.
 */
final class Sandbox
{
    public const CLIENT_ID = 'sandbox-client';
    public const CLIENT_SECRET = 'sandbox-secret';

    private const STARTUP_TIMEOUT_S = 10;

    /** @var self|null one sandbox for the whole test run */
    private static $shared = null;

    /** @var resource */
    private $process;

    /** @var string */
    private $url;

    /** @var string */
    private $outputFile;

    /** @param string[] $arguments */
    private function __construct(array $arguments)
    {
        $binary = self::binary();
        $this->outputFile = tempnam(sys_get_temp_dir(), 'starmile-sandbox-');
        $process = proc_open(
            array_merge([$binary, '--port', '0'], $arguments),
            [0 => ['file', '/dev/null', 'r'], 1 => ['file', $this->outputFile, 'w'], 2 => ['file', '/dev/null', 'w']],
            $pipes
        );
        if (!is_resource($process)) {
            throw new \RuntimeException("cannot start $binary");
        }
        $this->process = $process;

        // The first line of its output is its URL.
        $deadline = microtime(true) + self::STARTUP_TIMEOUT_S;
        while (true) {
            $output = (string) file_get_contents($this->outputFile);
            if (strpos($output, "\n") !== false) {
                $this->url = trim(strtok($output, "\n"));
                break;
            }
            if (!proc_get_status($process)['running'] || microtime(true) > $deadline) {
                $this->stop();
                throw new \RuntimeException("$binary printed no URL within " . self::STARTUP_TIMEOUT_S . ' s');
            }
            usleep(10000);
        }
    }

    /** The suite's sandbox, started on first use and stopped when PHP exits. */
    public static function shared(): self
    {
        if (self::$shared === null) {
            self::$shared = new self([]);
            register_shutdown_function([self::$shared, 'stop']);
        }

        return self::$shared;
    }

    /** A sandbox of its own (e.g. with a short token lifetime); stop() it when done. */
    public static function start(array $arguments = []): self
    {
        return new self($arguments);
    }

    public static function binary(): string
    {
        $fromEnv = getenv('STARMILE_SANDBOX_BIN');
        $binary = is_string($fromEnv) && $fromEnv !== ''
            ? $fromEnv
            : dirname(__DIR__, 4) . '/target/release/starmile-sandbox';
        if (!is_executable($binary)) {
            throw new \RuntimeException("no sandbox at $binary: build it with `cargo build --release --features sandbox` or set STARMILE_SANDBOX_BIN");
        }

        return $binary;
    }

    public function url(): string
    {
        return $this->url;
    }

    /**
     * A client config for this sandbox.
     *
     * @param array<string, mixed> $extra
     * @return array<string, mixed>
     */
    public function config(array $extra = []): array
    {
        return $extra + [
            'base_url' => $this->url,
            'client_id' => self::CLIENT_ID,
            'client_secret' => self::CLIENT_SECRET,
        ];
    }

    /** @return array<string, mixed> GET /_sandbox/stats */
    public function stats(): array
    {
        return $this->control('GET', '/_sandbox/stats');
    }

    public function reset(): void
    {
        $this->control('POST', '/_sandbox/reset');
    }

    /** @param array<string, mixed> $settings e.g. ['token_lifetime_s' => 4] */
    public function settings(array $settings): void
    {
        $this->control('POST', '/_sandbox/settings', $settings);
    }

    /**
     * @param string  $target "token" or "api"
     * @param array[] $faults e.g. [['status' => 503, 'count' => 2]]
     */
    public function faults(string $target, array $faults): void
    {
        $this->control('POST', '/_sandbox/faults', ['target' => $target, 'faults' => $faults]);
    }

    public function stop(): void
    {
        if (is_resource($this->process)) {
            proc_terminate($this->process);
            proc_close($this->process);
        }
        if (is_file($this->outputFile)) {
            unlink($this->outputFile);
        }
    }

    /**
     * @param array<string, mixed>|null $body
     * @return array<string, mixed>
     */
    private function control(string $method, string $path, ?array $body = null): array
    {
        $http = ['method' => $method, 'ignore_errors' => true, 'timeout' => 10];
        if ($body !== null) {
            $http['header'] = 'Content-Type: application/json';
            $http['content'] = json_encode($body);
        }
        $answer = file_get_contents($this->url . $path, false, stream_context_create(['http' => $http]));
        $status = isset($http_response_header[0]) ? (int) explode(' ', $http_response_header[0])[1] : 0;
        if ($answer === false || $status >= 300) {
            throw new \RuntimeException("sandbox $method $path failed (HTTP $status): $answer");
        }
        $decoded = json_decode($answer, true);

        return is_array($decoded) ? $decoded : [];
    }
}
