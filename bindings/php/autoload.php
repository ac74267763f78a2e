<?php

/*
 * A PSR-4 autoloader for using the package without Composer (the examples,
 * the tests, preload.php). With Composer, require vendor/autoload.php instead.
 */

declare(strict_types=1);

spl_autoload_register(static function (string $class): void {
    if (strncmp($class, 'Starmile\\', 9) !== 0) {
        return;
    }
    $file = __DIR__ . '/src/' . str_replace('\\', '/', substr($class, 9)) . '.php';
    if (is_file($file)) {
        require $file;
    }
});
