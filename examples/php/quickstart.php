<?php

// Quick start: fetch a token, call GET /v1/echo.
// Reads STARMILE_BASE_URL, STARMILE_CLIENT_ID, STARMILE_CLIENT_SECRET (and STARMILE_LIB, if set).

declare(strict_types=1);

require __DIR__ . '/../../bindings/php/autoload.php'; // with Composer: require 'vendor/autoload.php';

use Starmile\Client;
use Starmile\Exception\StarmileException;

try {
    // Config keys not given here come from the STARMILE_* environment variables,
    // e.g. new Client(['base_url' => 'https://...', 'client_id' => '...', 'client_secret' => '...']).
    $client = new Client(['timeout_ms' => 10000]);

    $token = $client->getToken();
    echo 'token: ', substr($token, 0, 6), "…\n"; // never print a whole token

    $response = $client->get('/v1/echo');
    $echo = $response->json();
    printf("GET /v1/echo -> %d, echoed method %s, path %s\n", $response->getStatusCode(), $echo['method'], $echo['path']);
} catch (StarmileException $e) {
    fprintf(STDERR, "%s [%s]: %s\n", get_class($e), $e->getStatusName(), $e->getMessage());
    exit(1);
}
