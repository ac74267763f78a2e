<?php

/*
 * Per-call cost of Client::getToken() on a cached token, seen from PHP, next
 * to the bare FFI call it wraps. Reports numbers; never fails on a timing.
 *
 *   php bench/get_token.php [iterations]
 *
 * Uses the sandbox at STARMILE_BASE_URL (with STARMILE_CLIENT_ID/SECRET), or
 * starts one (STARMILE_SANDBOX_BIN). Library: STARMILE_LIB, as everywhere.
 */

declare(strict_types=1);

require __DIR__ . '/../tests/bootstrap.php';

use Starmile\Client;
use Starmile\Native\Library;
use Starmile\Tests\Support\Sandbox;

$iterations = (int) ($argv[1] ?? 200000);

if ((string) getenv('STARMILE_BASE_URL') !== '') {
    $config = [];
} else {
    $sandbox = Sandbox::shared();
    $config = $sandbox->config();
}
$client = new Client($config);
$client->getToken(); // fetch once; every call below is served from the cache

/** @return float microseconds per call */
function measure(int $iterations, callable $call): float
{
    for ($i = 0; $i < 1000; $i++) {
        $call();
    }
    $start = hrtime(true);
    for ($i = 0; $i < $iterations; $i++) {
        $call();
    }

    return (hrtime(true) - $start) / 1e3 / $iterations;
}

$binding = measure($iterations, static function () use ($client): void {
    $client->getToken();
});

// The same work without the binding's class: one FFI call, copy, free.
$ffi = Library::ffi();
$handle = (new ReflectionProperty(Client::class, 'handle'));
$handle->setAccessible(true);
$rawHandle = $handle->getValue($client);
$raw = measure($iterations, static function () use ($ffi, $rawHandle): void {
    $token = $ffi->new('char*');
    $ffi->sm_get_token($rawHandle, FFI::addr($token), null, null);
    FFI::string($token);
    $ffi->sm_string_free($token);
});

printf("PHP %s, libstarmile %s, %d iterations, opcache.enable_cli=%s\n", PHP_VERSION, Client::version(), $iterations, ini_get('opcache.enable_cli') ?: '0');
printf("Client::getToken() (cached token): %.2f us/call\n", $binding);
printf("bare FFI sm_get_token + copy + free: %.2f us/call\n", $raw);
printf("binding's own share:               %.2f us/call\n", $binding - $raw);
