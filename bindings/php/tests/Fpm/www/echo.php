<?php

/*
 * Served by php-fpm in FpmTest. No require: preload.php compiled the
 * package, and only that compiled code may use FFI (ffi.enable=preload).
 */

declare(strict_types=1);

$config = [
    'base_url' => $_SERVER['SANDBOX_URL'],
    'client_id' => $_SERVER['SANDBOX_CLIENT_ID'],
    'client_secret' => $_SERVER['SANDBOX_CLIENT_SECRET'],
];
if (($_SERVER['TOKEN_CACHE'] ?? '') !== '') {
    $config['token_cache'] = $_SERVER['TOKEN_CACHE'];
}
$client = ($_SERVER['CLIENT_KIND'] ?? '') === 'per-request'
    ? new Starmile\Client($config)
    : Starmile\Client::persistent($config);
$response = $client->get('/v1/echo');

header('Content-Type: application/json');
echo json_encode([
    'pid' => getmypid(),
    'status' => $response->getStatusCode(),
    'path' => $response->json()['path'],
    'ffi_enable' => ini_get('ffi.enable'),
    'library' => Starmile\Native\Library::origin(),
]);
