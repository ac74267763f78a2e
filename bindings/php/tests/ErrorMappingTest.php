<?php

declare(strict_types=1);

namespace Starmile\Tests;

use Starmile\Client;
use Starmile\Exception\ApiException;
use Starmile\Exception\AuthenticationException;
use Starmile\Exception\ConflictException;
use Starmile\Exception\ConnectionException;
use Starmile\Exception\InternalServerException;
use Starmile\Exception\NotFoundException;
use Starmile\Exception\PermissionDeniedException;
use Starmile\Exception\ProtocolException;
use Starmile\Exception\RateLimitException;
use Starmile\Exception\ServiceUnavailableException;
use Starmile\Exception\StarmileException;
use Starmile\Exception\TimeoutException;
use Starmile\Exception\UnprocessableEntityException;
use Starmile\Tests\Support\Sandbox;

/** Every exception of CONTRACT §7, each provoked by a real server answer. */
final class ErrorMappingTest extends TestCase
{
    /** @return array<string, array{int, class-string}> */
    public function httpStatuses(): array
    {
        return [
            '400 other' => [400, ApiException::class],
            '403' => [403, PermissionDeniedException::class],
            '404' => [404, NotFoundException::class],
            '409' => [409, ConflictException::class],
            '410 other' => [410, ApiException::class],
            '422' => [422, UnprocessableEntityException::class],
            '429' => [429, RateLimitException::class],
            '500' => [500, InternalServerException::class],
            '503' => [503, InternalServerException::class],
        ];
    }

    /** @dataProvider httpStatuses */
    public function testHttpStatusesBecomeTypedExceptions(int $status, string $class): void
    {
        // No retries: a 429 or 503 would otherwise be retried with backoff.
        $client = $this->client(['max_retries' => 0]);
        try {
            $client->post('/v1/status/' . $status, ['json' => ['x' => 1]]);
            self::fail("HTTP $status must throw");
        } catch (ApiException $e) {
            self::assertSame($class, get_class($e));
            self::assertSame($status, $e->getStatusCode());
            self::assertSame($status, $e->getCode());
            self::assertSame($status, $e->getResponse()->getStatusCode());
            self::assertSame('sandbox_status', $e->getResponse()->json()['error']['type']);
            self::assertNotNull($e->getRequestId());
            self::assertSame($e->getResponse()->getRequestId(), $e->getRequestId());
            self::assertSame('SM_OK', $e->getStatusName());
            self::assertStringContainsString("HTTP $status", $e->getMessage());
            self::assertStringContainsString("sandbox answered $status", $e->getMessage());
            self::assertStringContainsString((string) $e->getRequestId(), $e->getMessage());
        }
    }

    public function testStatusesBelow400AreNotErrors(): void
    {
        self::assertSame(204, $this->client()->delete('/v1/status/204')->getStatusCode());
        self::assertSame(399, $this->client()->get('/v1/status/399')->getStatusCode());
    }

    public function testRateLimitCarriesRetryAfter(): void
    {
        try {
            $this->client(['max_retries' => 0])->get('/v1/status/429', ['query' => ['retry_after' => 7]]);
            self::fail('429 must throw');
        } catch (RateLimitException $e) {
            self::assertSame('7', $e->getResponse()->getHeaderLine('Retry-After'));
            self::assertStringNotContainsString('retry_after', $e->getMessage(), 'the query stays out of the message');
        }
    }

    public function testWrongSecretIsAnAuthenticationError(): void
    {
        $client = $this->client(['client_secret' => 'wrong-secret-value']);
        try {
            $client->getToken();
            self::fail('a wrong secret must throw');
        } catch (AuthenticationException $e) {
            self::assertSame('SM_ERR_AUTH', $e->getStatusName());
            self::assertSame(3, $e->getCode());
            self::assertNull($e->getResponse());
            self::assertNull($e->getStatusCode());
            self::assertStringContainsString('invalid_client', $e->getMessage());
        }
    }

    public function testTheSecretNeverAppearsInAnErrorEvenWhenTheServerEchoesIt(): void
    {
        $this->sandbox->settings(['echo_secret_in_errors' => true]);
        $secret = 'wrong-secret-' . bin2hex(random_bytes(8));
        try {
            $this->client(['client_secret' => $secret])->get('/v1/echo');
            self::fail('a wrong secret must throw');
        } catch (AuthenticationException $e) {
            self::assertStringNotContainsString($secret, $e->getMessage());
            self::assertStringNotContainsString($secret, (string) $e);
        }
    }

    public function testClosedPortIsAConnectionError(): void
    {
        $client = new Client([
            'base_url' => 'http://127.0.0.1:' . self::closedPort(),
            'client_id' => Sandbox::CLIENT_ID,
            'client_secret' => Sandbox::CLIENT_SECRET,
            'max_retries' => 0,
        ]);
        try {
            $client->get('/v1/echo');
            self::fail('a closed port must throw');
        } catch (ConnectionException $e) {
            self::assertSame(ConnectionException::class, get_class($e));
            self::assertSame('SM_ERR_NETWORK', $e->getStatusName());
            self::assertSame(5, $e->getCode());
        }
    }

    public function testSlowAnswerIsATimeoutAndAConnectionError(): void
    {
        $client = $this->client(['timeout_ms' => 200, 'max_retries' => 0]);
        $client->getToken(); // so the timeout hits the API call
        try {
            $client->get('/v1/slow/3000');
            self::fail('a slow answer must time out');
        } catch (TimeoutException $e) {
            self::assertInstanceOf(ConnectionException::class, $e);
            self::assertSame('SM_ERR_TIMEOUT', $e->getStatusName());
            self::assertSame(6, $e->getCode());
        }
    }

    public function testTokenEndpointKeptFailingIsServiceUnavailable(): void
    {
        $this->sandbox->faults('token', [['status' => 503, 'count' => 1]]);
        try {
            $this->client(['max_retries' => 0])->getToken();
            self::fail('a 503 from the token endpoint must throw');
        } catch (ServiceUnavailableException $e) {
            self::assertSame('SM_ERR_UNAVAILABLE', $e->getStatusName());
            self::assertSame(4, $e->getCode());
        }
    }

    public function testNonJsonTokenAnswerIsAProtocolError(): void
    {
        $this->sandbox->faults('token', [[
            'status' => 200,
            'headers' => ['Content-Type' => 'text/html'],
            'body' => '<html>captive portal</html>',
        ]]);
        try {
            $this->client()->get('/v1/echo');
            self::fail('a non-JSON token answer must throw');
        } catch (ProtocolException $e) {
            self::assertSame('SM_ERR_PROTOCOL', $e->getStatusName());
            self::assertSame(7, $e->getCode());
        }
    }

    public function testEveryExceptionIsAStarmileException(): void
    {
        foreach ([
            ApiException::class, AuthenticationException::class, ConnectionException::class, TimeoutException::class,
            ServiceUnavailableException::class, ProtocolException::class, InternalServerException::class,
            \Starmile\Exception\InvalidArgumentException::class,
        ] as $class) {
            self::assertTrue(is_subclass_of($class, StarmileException::class), $class);
        }
    }
}
