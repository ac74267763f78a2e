<?php

declare(strict_types=1);

namespace Starmile\Tests;

use Starmile\Client;
use Starmile\Exception\InvalidArgumentException;

/** Bad input is refused before anything reaches the network. */
final class InputValidationTest extends TestCase
{
    protected function tearDown(): void
    {
        self::assertSame(0, $this->sandbox->stats()['api_requests'], 'bad input must not reach the API');
    }

    public function testUnknownConfigKeyIsNamed(): void
    {
        $e = $this->invalid(function (): void {
            $this->client(['timeout_secs' => 5]);
        });
        self::assertStringContainsString('timeout_secs', $e->getMessage());
    }

    public function testWrongConfigTypeIsNamedWithoutTheValue(): void
    {
        $e = $this->invalid(function (): void {
            $this->client(['client_secret' => ['not', 'a', 'string']]);
        });
        self::assertStringContainsString('client_secret', $e->getMessage());
    }

    public function testMissingBaseUrlIsRefused(): void
    {
        $this->invalid(function (): void {
            new Client(['client_id' => 'a', 'client_secret' => 'b']);
        });
    }

    public function testPlainHttpToANonLoopbackHostIsRefused(): void
    {
        $this->invalid(function (): void {
            new Client(['base_url' => 'http://partner.example', 'client_id' => 'a', 'client_secret' => 'b']);
        });
    }

    public function testCrossOriginUrlIsRefusedSoTheTokenStaysHome(): void
    {
        $client = $this->client();
        foreach (['http://evil.example/v1/echo', 'http://localhost:1/v1/echo', 'v1/echo'] as $path) {
            $this->invalid(function () use ($client, $path): void {
                $client->get($path);
            });
        }
    }

    public function testCrlfInAHeaderValueIsRefused(): void
    {
        $client = $this->client();
        foreach (["a\r\nX-Injected: 1", "a\nX-Injected: 1", "a\rb"] as $value) {
            $this->invalid(function () use ($client, $value): void {
                $client->get('/v1/echo', ['headers' => ['X-Note' => $value]]);
            });
        }
    }

    public function testHeadersMustBeANameToValueMap(): void
    {
        $this->invalid(function (): void {
            $this->client()->get('/v1/echo', ['headers' => ['X-Trace: 1']]);
        });
    }

    public function testCallerAuthorizationHeaderIsRefused(): void
    {
        $this->invalid(function (): void {
            $this->client()->get('/v1/echo', ['headers' => ['Authorization' => 'Bearer mine']]);
        });
    }

    public function testNulBytesAreRefusedNotTruncated(): void
    {
        $client = $this->client();
        $this->invalid(function () use ($client): void {
            $client->get("/v1/echo\0/admin");
        });
        $this->invalid(function () use ($client): void {
            $client->setCredentials('sandbox-client', "sandbox-secret\0tail");
        });
    }

    public function testUnknownOptionIsRefused(): void
    {
        $e = $this->invalid(function (): void {
            $this->client()->get('/v1/echo', ['form_params' => ['a' => 1]]);
        });
        self::assertStringContainsString('form_params', $e->getMessage());
    }

    public function testJsonAndBodyTogetherAreRefused(): void
    {
        $this->invalid(function (): void {
            $this->client()->post('/v1/echo', ['json' => [], 'body' => 'x']);
        });
    }

    public function testUnencodableJsonIsRefused(): void
    {
        $this->invalid(function (): void {
            $this->client()->post('/v1/echo', ['json' => ["bad \xff utf-8"]]);
        });
    }

    public function testNonStringBodyIsRefused(): void
    {
        $this->invalid(function (): void {
            $this->client()->post('/v1/echo', ['body' => ['a' => 1]]);
        });
    }

    private function invalid(callable $call): InvalidArgumentException
    {
        try {
            $call();
        } catch (InvalidArgumentException $e) {
            self::assertSame('SM_ERR_INVALID_ARGUMENT', $e->getStatusName());
            self::assertSame(1, $e->getCode());

            return $e;
        }
        self::fail('expected Starmile\Exception\InvalidArgumentException');
    }
}
