<?php

/*
 * opcache.preload script for PHP-FPM (and any non-CLI SAPI).
 *
 * There, ffi.enable defaults to "preload": only code compiled by the preload
 * script may use FFI. This compiles every class of the package, so
 * Starmile\Client may call into libstarmile from any request.
 *
 *   opcache.preload      = /path/to/vendor/starmile/partner-sdk/preload.php
 *   opcache.preload_user = www-data            ; required when php-fpm starts as root
 *   ffi.preload          = /etc/php/8.2/starmile.h   ; made by bin/generate-ffi-header --scope STARMILE --lib ...
 *
 * It deliberately makes no FFI call: when php-fpm starts as root, the preload
 * script runs in a separate process where FFI::load() is refused. The
 * library itself is loaded by ffi.preload, once, in the master process.
 */

declare(strict_types=1);

require __DIR__ . '/autoload.php';

$sources = new RecursiveIteratorIterator(new RecursiveDirectoryIterator(__DIR__ . '/src', FilesystemIterator::SKIP_DOTS));
foreach ($sources as $file) {
    if ($file->getExtension() !== 'php') {
        continue;
    }
    $relative = substr($file->getPathname(), strlen(__DIR__ . '/src/'), -4);
    // class_exists() autoloads, so a parent class is always compiled before its children.
    class_exists('Starmile\\' . str_replace('/', '\\', $relative));
}
