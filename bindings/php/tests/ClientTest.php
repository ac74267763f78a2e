<?php

declare(strict_types=1);

namespace Starmile\Tests;

use Starmile\Client;
use Starmile\Exception\AuthenticationException;
use Starmile\Exception\StarmileException;
use Starmile\Native\Library;
use Starmile\Tests\Support\Sandbox;

final class ClientTest extends TestCase
{
    public function testVersionIsSemver(): void
    {
        self::assertMatchesRegularExpression('/^\d+\.\d+\.\d+$/', Client::version());
    }

    public function testGetTokenFetchesOnceThenServesTheCachedToken(): void
    {
        $client = $this->client();
        $first = $client->getToken();
        $second = $client->getToken();

        self::assertNotSame('', $first);
        self::assertSame($first, $second);
        self::assertSame(1, $this->sandbox->stats()['token_requests']);
    }

    public function testConstructionDoesNoNetworkIo(): void
    {
        $this->client();

        self::assertSame(0, $this->sandbox->stats()['token_requests']);
    }

    public function testEveryVerbReachesTheServerWithItsMethod(): void
    {
        $client = $this->client();
        foreach (['get', 'post', 'put', 'patch', 'delete'] as $verb) {
            $echo = $client->{$verb}('/v1/echo')->json();
            self::assertSame(strtoupper($verb), $echo['method']);
            self::assertSame('/v1/echo', $echo['path']);
        }
        self::assertSame('PUT', $client->request('put', '/v1/echo')->json()['method']);
        self::assertSame(1, $this->sandbox->stats()['token_requests']);
    }

    public function testJsonOptionSendsJsonWithItsContentType(): void
    {
        $echo = $this->client()->post('/v1/echo', ['json' => ['name' => 'Zoë', 'n' => 1.0, 'list' => [1, 2]]])->json();

        self::assertEquals(['name' => 'Zoë', 'n' => 1.0, 'list' => [1, 2]], $echo['json']);
        self::assertStringContainsString('"n":1.0', $echo['body']);
        self::assertSame('application/json', $echo['headers']['content-type']);
    }

    public function testBodyOptionIsSentByteForByte(): void
    {
        $body = "line one\nnul:\0 end";
        $echo = $this->client()->put('/v1/echo', [
            'body' => $body,
            'headers' => ['Content-Type' => 'text/plain'],
        ])->json();

        self::assertSame($body, $echo['body']);
        self::assertSame(strlen($body), $echo['body_len']);
        self::assertSame('text/plain', $echo['headers']['content-type']);
    }

    public function testHeadersOptionAcceptsSingleAndRepeatedValues(): void
    {
        $echo = $this->client()->get('/v1/echo', ['headers' => [
            'X-Single' => 'one',
            'X-Multi' => ['a', 'b'],
            'X-Number' => 42,
        ]])->json();

        self::assertSame('one', $echo['headers']['x-single']);
        self::assertSame('a, b', $echo['headers']['x-multi']);
        self::assertSame('42', $echo['headers']['x-number']);
        self::assertArrayNotHasKey('authorization', $echo['headers']);
    }

    public function testQueryOptionIsEncodedAndAppended(): void
    {
        $client = $this->client();

        self::assertSame('q=a%20b&n=1', $client->get('/v1/echo', ['query' => ['q' => 'a b', 'n' => 1]])->json()['query']);
        self::assertSame('x=1&y=2', $client->get('/v1/echo?x=1', ['query' => 'y=2'])->json()['query']);
    }

    public function testAbsoluteUrlOnTheSameOriginIsAccepted(): void
    {
        $response = $this->client()->get($this->sandbox->url() . '/v1/echo');

        self::assertSame(200, $response->getStatusCode());
    }

    public function testResponseExposesStatusHeadersBodyAndRequestId(): void
    {
        $response = $this->client()->get('/v1/echo');

        self::assertSame(200, $response->getStatusCode());
        self::assertStringStartsWith('application/json', $response->getHeaderLine('Content-Type'));
        self::assertSame($response->getHeaderLine('content-type'), $response->getHeaderLine('CONTENT-TYPE'));
        self::assertTrue($response->hasHeader('X-Request-Id'));
        self::assertSame('', $response->getHeaderLine('x-absent'));
        self::assertSame([], $response->getHeader('x-absent'));
        self::assertArrayHasKey('content-type', $response->getHeaders());
        self::assertNotNull($response->getRequestId());
        self::assertSame($response->getHeaderLine('x-request-id'), $response->getRequestId());
        self::assertSame('GET', json_decode($response->getBody(), true)['method']);
    }

    public function testHeadersReadInAnyOrderGiveTheSameAnswers(): void
    {
        $client = $this->client();
        $first = $client->get('/v1/echo');
        $requestId = $first->getRequestId(); // before anything else reads the headers
        $headers = $first->getHeaders();

        self::assertNotNull($requestId);
        self::assertSame($headers['x-request-id'][0], $requestId);
        self::assertSame($requestId, $first->getRequestId());

        $second = $client->get('/v1/echo');
        $headers = $second->getHeaders(); // headers first, then the request id
        self::assertSame($headers['x-request-id'][0], $second->getRequestId());
        self::assertNotSame($requestId, $second->getRequestId());
    }

    public function testAResponseSurvivesSerialization(): void
    {
        $response = $this->client()->get('/v1/echo');
        $copy = unserialize(serialize($response));

        self::assertSame($response->getStatusCode(), $copy->getStatusCode());
        self::assertSame($response->getHeaders(), $copy->getHeaders());
        self::assertSame($response->getRequestId(), $copy->getRequestId());
        self::assertSame($response->getBody(), $copy->getBody());
    }

    public function testEachFailureOnOneClientCarriesItsOwnMessage(): void
    {
        $client = $this->client();
        $messages = [];
        foreach ([['X-Note' => "a\rb"], ['Authorization' => 'Bearer mine'], ['Bad Name' => '1']] as $headers) {
            try {
                $client->get('/v1/echo', ['headers' => $headers]);
                self::fail('expected Starmile\Exception\InvalidArgumentException');
            } catch (\Starmile\Exception\InvalidArgumentException $e) {
                $messages[] = $e->getMessage();
            }
        }

        self::assertCount(3, array_unique($messages));
        self::assertSame(200, $client->get('/v1/echo')->getStatusCode());
    }

    public function testBinaryBodiesArriveWhole(): void
    {
        $response = $this->client()->get('/v1/bytes/100000');

        self::assertSame(100000, strlen($response->getBody()));
    }

    public function testJsonOnANonJsonBodyThrows(): void
    {
        $this->expectException(\JsonException::class);

        $this->client()->get('/v1/bytes/10')->json();
    }

    public function testRedirectsAreReturnedNotFollowed(): void
    {
        $response = $this->client()->get('/v1/redirect');

        self::assertSame(302, $response->getStatusCode());
        self::assertSame('/v1/echo', $response->getHeaderLine('Location'));
    }

    public function testHttpErrorsFalseReturnsTheErrorResponse(): void
    {
        $response = $this->client()->get('/v1/status/404', ['http_errors' => false]);

        self::assertSame(404, $response->getStatusCode());
        self::assertSame('sandbox_status', $response->json()['error']['type']);
    }

    public function testInvalidateTokenMakesTheNextCallFetchANewOne(): void
    {
        $client = $this->client();
        $before = $client->getToken();
        $client->invalidateToken();
        $after = $client->getToken();

        self::assertNotSame($before, $after);
        self::assertSame(2, $this->sandbox->stats()['token_requests']);
    }

    public function testSetCredentialsReplacesRefusedCredentials(): void
    {
        $client = $this->client(['client_secret' => 'not-the-secret']);
        try {
            $client->getToken();
            self::fail('a wrong secret must be refused');
        } catch (AuthenticationException $e) {
            self::assertSame('SM_ERR_AUTH', $e->getStatusName());
        }

        $client->setCredentials(Sandbox::CLIENT_ID, Sandbox::CLIENT_SECRET);

        self::assertSame(200, $client->get('/v1/echo')->getStatusCode());
    }

    public function testSetCredentialsDropsTheCachedToken(): void
    {
        $client = $this->client();
        $client->getToken();
        $client->setCredentials(Sandbox::CLIENT_ID, Sandbox::CLIENT_SECRET);
        $client->getToken();

        self::assertSame(2, $this->sandbox->stats()['token_requests']);
    }

    public function testStatsReportTheLibraryCounters(): void
    {
        $client = $this->client();
        $client->get('/v1/echo');
        $stats = $client->stats();

        foreach (['token_fetches', 'token_fetch_failures', 'background_refreshes', 'requests', 'retries', 'reauth_replays', 'token_expires_at_ms'] as $key) {
            self::assertArrayHasKey($key, $stats);
        }
        self::assertSame(1, $stats['token_fetches']);
        self::assertSame(1, $stats['requests']);
        self::assertGreaterThan(time() * 1000, $stats['token_expires_at_ms']);
    }

    public function testA401IsRetriedOnceWithAFreshTokenThenThrown(): void
    {
        $client = $this->client();
        try {
            $client->get('/v1/status/401');
            self::fail('a 401 must throw');
        } catch (AuthenticationException $e) {
            self::assertSame(401, $e->getStatusCode());
            self::assertSame('SM_OK', $e->getStatusName());
            self::assertNotNull($e->getRequestId());
        }
        self::assertSame(1, $client->stats()['reauth_replays']);
        self::assertSame(2, $this->sandbox->stats()['token_requests']);
    }

    public function testHandlesArePositiveIntegers(): void
    {
        $handle = self::handleOf($this->client());

        self::assertIsInt($handle);
        self::assertGreaterThan(0, $handle);
        self::assertLessThan(2 ** 53, $handle);
    }

    public function testDestructorFreesTheNativeClient(): void
    {
        $client = $this->client();
        $handle = self::handleOf($client);
        unset($client);

        // Freeing it again is what tells: the library no longer knows it.
        self::assertSame(2, Library::ffi()->sm_client_free($handle), 'SM_ERR_INVALID_HANDLE expected');
    }

    public function testCallsAfterCloseThrowInvalidHandle(): void
    {
        $client = $this->client();
        $client->close();
        $client->close(); // closing twice is harmless

        try {
            $client->getToken();
            self::fail('a closed client must throw');
        } catch (StarmileException $e) {
            self::assertSame('SM_ERR_INVALID_HANDLE', $e->getStatusName());
            self::assertSame(StarmileException::class, get_class($e));
        }
    }

    public function testAClientCannotBeCloned(): void
    {
        $this->expectException(\Error::class);

        $client = $this->client();
        $copy = clone $client;
    }

    public function testConfigFallsBackToTheEnvironment(): void
    {
        putenv('STARMILE_BASE_URL=' . $this->sandbox->url());
        putenv('STARMILE_CLIENT_ID=' . Sandbox::CLIENT_ID);
        putenv('STARMILE_CLIENT_SECRET=' . Sandbox::CLIENT_SECRET);
        try {
            $client = new Client();
            self::assertSame(200, $client->get('/v1/echo')->getStatusCode());
        } finally {
            putenv('STARMILE_BASE_URL');
            putenv('STARMILE_CLIENT_ID');
            putenv('STARMILE_CLIENT_SECRET');
        }
    }

    private static function handleOf(Client $client): int
    {
        $property = new \ReflectionProperty(Client::class, 'handle');
        $property->setAccessible(true);

        return $property->getValue($client);
    }
}
