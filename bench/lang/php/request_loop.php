<?php

/*
 * Part 3 of `make bench`, PHP: the same authenticated GET loop through the
 * starmile binding (FFI) and through ext-curl with one reused handle.
 *
 *   php request_loop.php REQUESTS ROUNDS WARMUP
 *
 * Each loop gets one long-lived client: its token is fetched once, a short
 * warm-up opens the keep-alive connection, then every round sends REQUESTS
 * sequential GET /v1/echo and checks each answer is a 200 with a body. The
 * loops take turns (ours, curl, ours, curl ...) so that noise on the shared
 * machine hits them alike. The server comes from STARMILE_BASE_URL,
 * STARMILE_CLIENT_ID and STARMILE_CLIENT_SECRET; the library from STARMILE_LIB.
 *
 * Prints "KEY value" lines on stdout, per loop: <loop>.req_per_s (the best
 * round) and <loop>.cpu_us_per_req (this process's CPU per request in that
 * round). A failed request is an error (exit 1); a slow one never is.
 */

declare(strict_types=1);

require getenv('STARMILE_ROOT') . '/bindings/php/autoload.php';

[$requests, $rounds, $warmup] = array_map('intval', array_slice($argv, 1, 3)) + [0, 0, 0];
if ($requests <= 0 || $rounds <= 0) {
    fwrite(STDERR, "usage: php request_loop.php REQUESTS ROUNDS WARMUP\n");
    exit(2);
}

$baseUrl = rtrim((string) getenv('STARMILE_BASE_URL'), '/');
$clientId = (string) getenv('STARMILE_CLIENT_ID');
$clientSecret = (string) getenv('STARMILE_CLIENT_SECRET');

function fail(string $message): void
{
    fwrite(STDERR, "request_loop.php: $message\n");
    exit(1);
}

/** @return callable(int): void */
function ours(string $baseUrl, string $clientId, string $clientSecret): callable
{
    $client = new Starmile\Client(['base_url' => $baseUrl, 'client_id' => $clientId, 'client_secret' => $clientSecret]);
    $client->getToken();

    return static function (int $n) use ($client): void {
        for ($i = 0; $i < $n; $i++) {
            $response = $client->get('/v1/echo');
            if ($response->getStatusCode() !== 200 || $response->getBody() === '') {
                fail('starmile: GET /v1/echo answered ' . $response->getStatusCode());
            }
        }
    };
}

/** @return callable(int): void */
function curl(string $baseUrl, string $clientId, string $clientSecret): callable
{
    $token = curl_init($baseUrl . '/oauth/token');
    curl_setopt_array($token, [
        CURLOPT_POST => true,
        CURLOPT_POSTFIELDS => http_build_query([
            'grant_type' => 'client_credentials',
            'client_id' => $clientId,
            'client_secret' => $clientSecret,
        ]),
        CURLOPT_RETURNTRANSFER => true,
    ]);
    $answer = curl_exec($token);
    if ($answer === false || curl_getinfo($token, CURLINFO_RESPONSE_CODE) !== 200) {
        fail('curl: the token endpoint answered ' . curl_getinfo($token, CURLINFO_RESPONSE_CODE) . ' ' . curl_error($token));
    }
    $accessToken = json_decode($answer, true, 512, JSON_THROW_ON_ERROR)['access_token'];
    curl_close($token);

    $handle = curl_init($baseUrl . '/v1/echo');
    curl_setopt_array($handle, [
        CURLOPT_HTTPHEADER => ['Authorization: Bearer ' . $accessToken, 'Accept: application/json'],
        CURLOPT_RETURNTRANSFER => true,
    ]);

    return static function (int $n) use ($handle): void {
        for ($i = 0; $i < $n; $i++) {
            $body = curl_exec($handle);
            $status = curl_getinfo($handle, CURLINFO_RESPONSE_CODE);
            if ($body === false || $body === '' || $status !== 200) {
                fail("curl: GET /v1/echo answered $status " . curl_error($handle));
            }
        }
    };
}

function cpuSeconds(): float
{
    $usage = getrusage();

    return $usage['ru_utime.tv_sec'] + $usage['ru_utime.tv_usec'] / 1e6
        + $usage['ru_stime.tv_sec'] + $usage['ru_stime.tv_usec'] / 1e6;
}

$loops = [
    'ours' => ours($baseUrl, $clientId, $clientSecret),
    'curl' => curl($baseUrl, $clientId, $clientSecret),
];
foreach ($loops as $loop) {
    $loop($warmup);
}

$rates = $cpu = [];
for ($round = 1; $round <= $rounds; $round++) {
    foreach ($loops as $name => $loop) {
        $cpu0 = cpuSeconds();
        $t0 = hrtime(true);
        $loop($requests);
        $seconds = (hrtime(true) - $t0) / 1e9;
        $rates[$name][] = $requests / $seconds;
        $cpu[$name][] = (cpuSeconds() - $cpu0) / $requests * 1e6;
        fprintf(STDERR, "php round %d %s: %.0f req/s, %.1f CPU us/req\n", $round, $name, end($rates[$name]), end($cpu[$name]));
    }
}

printf("php %s\n", PHP_VERSION);
printf("opcache_cli %s\n", ini_get('opcache.enable_cli') ? 'on' : 'off');
printf("starmile.version %s\n", Starmile\Client::version());
printf("curl.version %s\n", curl_version()['version']);
foreach ($rates as $name => $values) {
    $best = array_keys($values, max($values))[0];
    printf("%s.req_per_s %.0f\n", $name, $values[$best]);
    printf("%s.cpu_us_per_req %.1f\n", $name, $cpu[$name][$best]);
}
