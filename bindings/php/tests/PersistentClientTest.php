<?php

declare(strict_types=1);

namespace Starmile\Tests;

use Starmile\Client;
use Starmile\Tests\Support\Sandbox;

/**
 * Client::persistent() under the CLI, where the process outlives every
 * object; the PHP-FPM case, across requests, is tests/Fpm/FpmTest.php.
 */
final class PersistentClientTest extends TestCase
{
    /** @var Client[] closed after each test, so tests do not share clients */
    private $opened = [];

    protected function tearDown(): void
    {
        foreach ($this->opened as $client) {
            $client->close();
        }
    }

    public function testSameConfigSharesOneNativeClientAndToken(): void
    {
        $config = $this->uniqueConfig();
        $first = Client::persistent($config);
        $token = $first->getToken();
        unset($first); // dropping the PHP object keeps the native client

        $second = $this->persistent($config);

        self::assertSame($token, $second->getToken());
        self::assertSame(1, $second->stats()['token_fetches']);
        self::assertSame(1, $this->sandbox->stats()['token_requests']);
    }

    public function testAnotherConfigGetsAClientOfItsOwn(): void
    {
        $config = $this->uniqueConfig();
        $this->persistent($config)->getToken();
        $this->persistent(['timeout_ms' => 5000] + $config)->getToken();

        self::assertSame(2, $this->sandbox->stats()['token_requests']);
    }

    public function testCloseFreesAndForgetsIt(): void
    {
        $config = $this->uniqueConfig();
        $this->persistent($config)->close();

        $again = $this->persistent($config);
        $again->getToken();

        self::assertSame(1, $again->stats()['token_fetches']);
    }

    public function testTheProcessRecordHoldsNoSecret(): void
    {
        $this->persistent($this->uniqueConfig())->getToken();

        foreach (getenv() as $name => $value) {
            if (strpos($name, 'STARMILE_PHP_CLIENT_') === 0) {
                self::assertMatchesRegularExpression('/^\d+:\d+:\d+$/', $value);
                self::assertStringNotContainsString(Sandbox::CLIENT_SECRET, $name . $value);
            }
        }
    }

    public function testAChildProcessThatInheritsTheRecordMakesItsOwnClient(): void
    {
        // A parent whose first client is persistent records handle number N
        // in its environment. Its child inherits that record, and its own
        // first client, with a wrong secret, gets the same number N. Were
        // the record trusted, the child's persistent() would hand back that
        // wrong-secret client and its request would fail.
        $directory = sys_get_temp_dir() . '/starmile-php-fork-' . bin2hex(random_bytes(6));
        mkdir($directory);
        file_put_contents("$directory/parent.php", <<<'PHP'
            <?php
            require getenv('PACKAGE') . '/autoload.php';
            Starmile\Client::persistent(json_decode(getenv('CONFIG'), true))->getToken();
            passthru(escapeshellarg(PHP_BINARY) . ' ' . escapeshellarg(__DIR__ . '/child.php'));
            PHP);
        file_put_contents("$directory/child.php", <<<'PHP'
            <?php
            require getenv('PACKAGE') . '/autoload.php';
            $config = json_decode(getenv('CONFIG'), true);
            $wrong = new Starmile\Client(['client_secret' => 'wrong-secret'] + $config);
            $client = Starmile\Client::persistent($config);
            echo json_encode(['status' => $client->get('/v1/echo')->getStatusCode(), 'token_fetches' => $client->stats()['token_fetches']]);
            PHP);
        putenv('PACKAGE=' . dirname(__DIR__));
        putenv('CONFIG=' . json_encode($this->uniqueConfig()));
        try {
            exec(escapeshellarg(PHP_BINARY) . ' ' . escapeshellarg("$directory/parent.php") . ' 2>&1', $lines, $exit);
        } finally {
            putenv('PACKAGE');
            putenv('CONFIG');
            exec('rm -rf ' . escapeshellarg($directory));
        }

        self::assertSame(['status' => 200, 'token_fetches' => 1], json_decode(implode("\n", $lines), true), implode("\n", $lines));
        self::assertSame(2, $this->sandbox->stats()['token_requests']);
    }

    private function persistent(array $config): Client
    {
        $client = Client::persistent($config);
        $this->opened[] = $client;

        return $client;
    }

    /** Each test its own config, so no test finds another's persistent client. */
    private function uniqueConfig(): array
    {
        return $this->sandbox->config(['user_agent' => 'persistent-test-' . bin2hex(random_bytes(4))]);
    }
}
