<?php

declare(strict_types=1);

namespace Starmile\Tests;

use Starmile\Client;
use Starmile\Exception\StarmileException;

/**
 * Client::persistent() under the CLI, where the process outlives every
 * object; the PHP-FPM case, across requests, is tests/Fpm/FpmTest.php.
 */
final class PersistentClientTest extends TestCase
{
    /** @var Client[] closed after each test: the library keeps shared clients for the whole process */
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

    public function testCloseFreesItForTheProcessAndTheNextCallMakesANewOne(): void
    {
        $config = $this->uniqueConfig();
        $holder = $this->persistent($config);
        $holder->getToken();
        $this->persistent($config)->close();

        $again = $this->persistent($config);

        self::assertSame(200, $again->get('/v1/echo')->getStatusCode());
        self::assertSame(1, $again->stats()['token_fetches'], 'a new native client, with no token from the closed one');
        self::assertSame(2, $this->sandbox->stats()['token_requests']);
        try {
            $holder->getToken();
            self::fail('an object still holding the closed client must throw');
        } catch (StarmileException $e) {
            self::assertSame('SM_ERR_INVALID_HANDLE', $e->getStatusName());
        }
    }

    public function testAnInvalidConfigThrowsAndLeavesNothingShared(): void
    {
        $config = $this->uniqueConfig(['base_url' => 'not a url']);
        foreach ([1, 2] as $attempt) {
            try {
                Client::persistent($config);
                self::fail("attempt $attempt: an invalid base_url must throw");
            } catch (\Starmile\Exception\InvalidArgumentException $e) {
                self::assertStringContainsString('base_url', $e->getMessage());
            }
        }
    }

    private function persistent(array $config): Client
    {
        $client = Client::persistent($config);
        $this->opened[] = $client;

        return $client;
    }

    /** Each test its own config, so no test finds another's persistent client. */
    private function uniqueConfig(array $extra = []): array
    {
        return $this->sandbox->config($extra + ['user_agent' => 'persistent-test-' . bin2hex(random_bytes(4))]);
    }
}
