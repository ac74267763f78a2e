<?php

declare(strict_types=1);

namespace Starmile\Tests\Fpm;

use Starmile\Native\Declarations;
use Starmile\Native\Library;
use Starmile\Tests\Support\Sandbox;

/**
 * The library under PHP-FPM, configured as the README says: opcache.preload
 * = preload.php, ffi.preload = a generated header with FFI_SCOPE "STARMILE",
 * ffi.enable left at its default "preload". Requests go through FastCGI
 * (cgi-fcgi) to tests/Fpm/www/echo.php, which calls the sandbox. A second
 * php-fpm, without ffi.preload, shows what Client::persistent() does there.
 * With token_cache = file:<dir> in the config, the workers share one token.
 */
final class FpmTest extends \PHPUnit\Framework\TestCase
{
    private const WORKERS = 2;
    private const REQUESTS = 20;
    private const STARTUP_TIMEOUT_S = 10;

    /** the php-fpm set up as the README says */
    private const PRELOADED = 'preloaded';

    /** a php-fpm with opcache.preload but no ffi.preload: the library is opened per request */
    private const PER_REQUEST_LIBRARY = 'per-request-library';

    /** @var Sandbox */
    private static $sandbox;

    /** @var string */
    private static $directory;

    /** @var array<string, resource> php-fpm processes by pool name */
    private static $fpm = [];

    public static function setUpBeforeClass(): void
    {
        self::$sandbox = Sandbox::shared();
        self::$directory = sys_get_temp_dir() . '/starmile-fpm-' . bin2hex(random_bytes(6));
        mkdir(self::$directory);

        $library = (string) realpath((string) getenv('STARMILE_LIB'));
        $header = (string) file_get_contents(dirname(__DIR__, 4) . '/include/starmile.h');
        file_put_contents(
            self::$directory . '/starmile.h',
            Declarations::forPreload(Declarations::fromHeader($header), Library::SCOPE, $library)
        );
        self::startFpm(self::PRELOADED, self::WORKERS, ['ffi.preload' => self::$directory . '/starmile.h']);
        self::startFpm(self::PER_REQUEST_LIBRARY, 1, [], ['STARMILE_LIB' => $library]);
    }

    public static function tearDownAfterClass(): void
    {
        foreach (self::$fpm as $process) {
            proc_terminate($process);
            proc_close($process);
        }
        self::$fpm = [];
        exec('rm -rf ' . escapeshellarg(self::$directory));
    }

    protected function setUp(): void
    {
        self::$sandbox->reset();
    }

    public function testAWorkerKeepsItsTokenAcrossRequests(): void
    {
        $pids = [];
        for ($i = 0; $i < self::REQUESTS; $i++) {
            $answer = $this->fastCgi(self::PRELOADED, 'persistent');
            self::assertSame(200, $answer['status']);
            self::assertSame('/v1/echo', $answer['path']);
            self::assertSame('preload', $answer['ffi_enable']);
            self::assertSame('ffi.preload scope STARMILE', $answer['library']);
            $pids[$answer['pid']] = true;
        }

        $stats = self::$sandbox->stats();
        fwrite(STDERR, sprintf(
            "\nFPM: %d requests served by %d worker(s) (pm.max_children=%d) -> %d token request(s)\n",
            self::REQUESTS,
            count($pids),
            self::WORKERS,
            $stats['token_requests']
        ));
        self::assertLessThanOrEqual(self::WORKERS, count($pids));
        self::assertSame(self::REQUESTS, $stats['requests']['GET /v1/echo']);
        self::assertSame(count($pids), $stats['token_requests'], 'one token request per worker, not one per request');
    }

    public function testWorkersShareOneTokenThroughAFileCache(): void
    {
        // The same 20 requests, with token_cache = file:<dir> in the config.
        // They go in pairs, and the first token takes 500 ms: while one
        // worker fetches it, the other serves the second request of the pair,
        // waits for that fetch and adopts its token.
        $tokenCache = 'file:' . self::$directory . '/tokens-persistent';
        self::$sandbox->settings(['token_latency_ms' => 500]);
        $pids = [];
        for ($i = 0; $i < self::REQUESTS; $i += 2) {
            $pair = [
                $this->startFastCgi(self::PRELOADED, 'persistent', $tokenCache),
                $this->startFastCgi(self::PRELOADED, 'persistent', $tokenCache),
            ];
            foreach ($pair as $request) {
                $answer = $this->fastCgiAnswer($request);
                self::assertSame(200, $answer['status']);
                self::assertSame('/v1/echo', $answer['path']);
                self::assertSame('ffi.preload scope STARMILE', $answer['library']);
                $pids[$answer['pid']] = true;
            }
        }

        $stats = self::$sandbox->stats();
        fwrite(STDERR, sprintf(
            "\nFPM, token_cache file: -> %d requests served by %d worker(s) (pm.max_children=%d) -> %d token request(s)\n",
            self::REQUESTS,
            count($pids),
            self::WORKERS,
            $stats['token_requests']
        ));
        self::assertCount(self::WORKERS, $pids, 'every worker served requests');
        self::assertSame(self::REQUESTS, $stats['requests']['GET /v1/echo']);
        self::assertSame(1, $stats['token_requests'], 'one token request in total, not one per worker');
        self::assertSame(0, $stats['unauthorized']);
    }

    public function testPerRequestClientsShareTheCachedTokenThroughAFileCache(): void
    {
        // Unlike testAPerRequestClientFetchesATokenEveryRequest: each
        // request's new Client adopts the token the first one stored.
        $tokenCache = 'file:' . self::$directory . '/tokens-per-request';
        for ($i = 0; $i < 3; $i++) {
            self::assertSame(200, $this->fastCgi(self::PRELOADED, 'per-request', $tokenCache)['status']);
        }

        self::assertSame(1, self::$sandbox->stats()['token_requests']);
    }

    public function testAPerRequestClientFetchesATokenEveryRequest(): void
    {
        // The contrast: `new Client` lives and dies with the request.
        for ($i = 0; $i < 3; $i++) {
            self::assertSame(200, $this->fastCgi(self::PRELOADED, 'per-request')['status']);
        }

        self::assertSame(3, self::$sandbox->stats()['token_requests']);
    }

    public function testWithoutFfiPreloadAPersistentClientIsAnOrdinaryOne(): void
    {
        // One worker serves every request. PHP opens the library per request
        // here, so persistent() gives a client that ends with the request.
        $pids = [];
        for ($i = 0; $i < 3; $i++) {
            $answer = $this->fastCgi(self::PER_REQUEST_LIBRARY, 'persistent');
            self::assertSame(200, $answer['status']);
            self::assertSame(realpath((string) getenv('STARMILE_LIB')), $answer['library']);
            $pids[$answer['pid']] = true;
        }

        self::assertCount(1, $pids);
        self::assertSame(3, self::$sandbox->stats()['token_requests']);
    }

    /**
     * Starts php-fpm with one static pool listening on <directory>/<name>.sock.
     *
     * @param array<string, string> $ini extra php.ini settings
     * @param array<string, string> $env environment of the workers
     */
    private static function startFpm(string $name, int $workers, array $ini, array $env = []): void
    {
        $base = self::$directory . '/' . $name;
        $lines = [
            '[global]',
            "error_log = $base.log",
            'daemonize = no',
            "[$name]",
            "listen = $base.sock",
            'pm = static',
            "pm.max_children = $workers",
            'catch_workers_output = yes',
        ];
        foreach ($env as $variable => $value) {
            $lines[] = "env[$variable] = $value";
        }
        file_put_contents("$base.conf", implode("\n", $lines) . "\n");

        $package = dirname(__DIR__, 2);
        $ini += [
            'opcache.enable' => '1',
            'opcache.preload' => "$package/preload.php",
            'opcache.preload_user' => self::currentUser(),
        ];
        $command = [self::tool('php-fpm8.2', 'php-fpm'), '--nodaemonize', '--allow-to-run-as-root', '--fpm-config', "$base.conf"];
        foreach ($ini as $setting => $value) {
            array_push($command, '-d', "$setting=$value");
        }
        $process = proc_open($command, [0 => ['file', '/dev/null', 'r'], 1 => ['file', "$base.out", 'w'], 2 => ['file', "$base.out", 'a']], $pipes);
        self::$fpm[$name] = $process;

        $deadline = microtime(true) + self::STARTUP_TIMEOUT_S;
        while (@stream_socket_client("unix://$base.sock") === false) {
            if (!proc_get_status($process)['running'] || microtime(true) > $deadline) {
                self::fail("php-fpm ($name) did not start: " . @file_get_contents("$base.out") . @file_get_contents("$base.log"));
            }
            usleep(20000);
        }
    }

    /**
     * @param string $tokenCache the token_cache echo.php puts in its config ('' for none)
     *
     * @return array<string, mixed> the JSON echo.php printed
     */
    private function fastCgi(string $pool, string $clientKind, string $tokenCache = ''): array
    {
        return $this->fastCgiAnswer($this->startFastCgi($pool, $clientKind, $tokenCache));
    }

    /**
     * Sends one FastCGI request without waiting for the answer.
     *
     * @return array{pool: string, process: resource, pipes: array<int, resource>}
     */
    private function startFastCgi(string $pool, string $clientKind, string $tokenCache = ''): array
    {
        $env = [
            'SCRIPT_FILENAME' => __DIR__ . '/www/echo.php',
            'REQUEST_METHOD' => 'GET',
            'SANDBOX_URL' => self::$sandbox->url(),
            'SANDBOX_CLIENT_ID' => Sandbox::CLIENT_ID,
            'SANDBOX_CLIENT_SECRET' => Sandbox::CLIENT_SECRET,
            'CLIENT_KIND' => $clientKind,
            'TOKEN_CACHE' => $tokenCache,
            'PATH' => (string) getenv('PATH'),
        ];
        $process = proc_open(
            [self::tool('cgi-fcgi'), '-bind', '-connect', self::$directory . "/$pool.sock"],
            [1 => ['pipe', 'w'], 2 => ['pipe', 'w']],
            $pipes,
            null,
            $env
        );

        return ['pool' => $pool, 'process' => $process, 'pipes' => $pipes];
    }

    /**
     * @param array{pool: string, process: resource, pipes: array<int, resource>} $request from startFastCgi()
     *
     * @return array<string, mixed> the JSON echo.php printed
     */
    private function fastCgiAnswer(array $request): array
    {
        ['pool' => $pool, 'process' => $process, 'pipes' => $pipes] = $request;
        $output = stream_get_contents($pipes[1]) . stream_get_contents($pipes[2]);
        proc_close($process);

        // A CGI answer: headers, a blank line, the body.
        $parts = preg_split("/\r?\n\r?\n/", $output, 2);
        $answer = json_decode($parts[1] ?? '', true);
        self::assertIsArray($answer, "php-fpm ($pool) answered:\n$output\n" . @file_get_contents(self::$directory . "/$pool.log"));

        return $answer;
    }

    private static function tool(string ...$names): string
    {
        foreach ($names as $name) {
            foreach (array_merge(explode(':', (string) getenv('PATH')), ['/usr/sbin', '/usr/bin']) as $directory) {
                if (is_executable("$directory/$name")) {
                    return "$directory/$name";
                }
            }
        }
        self::fail(implode(' / ', $names) . ' not found: `make test` installs php8.2-fpm and libfcgi-bin');
    }

    private static function currentUser(): string
    {
        if (function_exists('posix_geteuid')) {
            return posix_getpwuid(posix_geteuid())['name'];
        }

        return (string) getenv('USER');
    }
}
