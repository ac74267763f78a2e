<?php

declare(strict_types=1);

require __DIR__ . '/../autoload.php';

spl_autoload_register(static function (string $class): void {
    if (strncmp($class, 'Starmile\\Tests\\', 15) === 0) {
        $file = __DIR__ . '/' . str_replace('\\', '/', substr($class, 15)) . '.php';
        if (is_file($file)) {
            require $file;
        }
    }
});

// Run against the repository's build unless STARMILE_LIB names another.
if ((string) getenv('STARMILE_LIB') === '') {
    putenv('STARMILE_LIB=' . dirname(__DIR__, 3) . '/target/release/' . Starmile\Native\Library::fileName());
}
