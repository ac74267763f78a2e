<?php

declare(strict_types=1);

namespace Starmile\Native;

use FFI;

/**
 * Remembers, per PHP process, which sm_client handle serves which config, so
 * that Client::persistent() finds the same native client (and its cached
 * token) in every request a PHP-FPM worker serves.
 *
 * PHP resets every userland variable, static property and constant between
 * requests, and has no per-process store of its own. The library's handle
 * table survives (it is process memory, and ffi.preload keeps the library
 * loaded), so only the handle number needs a place to live. That place is
 * the process's C environment, written with libc setenv() through FFI:
 *
 *     STARMILE_PHP_CLIENT_<hash of config> = <pid>:<library address>:<handle>
 *
 * It is private to the process (PHP's putenv() would be reverted at the end
 * of the request; setenv() is not). The pid and the address where the library
 * is mapped (randomised per exec) guard against a child process that
 * inherited the variable: a forked or exec'd child sees a different stamp and
 * makes its own client. The entry holds no secret: only a hash and a number.
 */
final class PersistentClients
{
    private const PREFIX = 'STARMILE_PHP_CLIENT_';

    /** Environment variables libstarmile reads when it creates a client. */
    private const ENVIRONMENT = [
        'STARMILE_BASE_URL', 'STARMILE_CLIENT_ID', 'STARMILE_CLIENT_SECRET', 'STARMILE_CLIENT_SECRET_FILE',
        'HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy', 'NO_PROXY', 'no_proxy', 'ALL_PROXY', 'all_proxy',
    ];

    /** @var FFI|null libc's getenv/setenv/unsetenv; null when unavailable */
    private static $libc = null;

    /**
     * The registry key of a config: a hash of it and of the environment the
     * library would fall back on. Null when libc's environment functions are
     * not reachable (then there is no persistence).
     */
    public static function key(string $configJson): ?string
    {
        $libc = self::libc();
        if ($libc === null) {
            return null;
        }
        $material = $configJson;
        foreach (self::ENVIRONMENT as $name) {
            $material .= "\0" . $name . '=' . ($libc->getenv($name) ?? '');
        }

        return self::PREFIX . substr(hash('sha256', $material), 0, 40);
    }

    /** The handle remembered for $key in this very process, or null. */
    public static function find(FFI $starmile, string $key): ?int
    {
        $entry = self::libc()->getenv($key);
        if ($entry === null) {
            return null;
        }
        $parts = explode(':', $entry);
        if (count($parts) !== 3 || $parts[0] . ':' . $parts[1] !== self::stamp($starmile) || !ctype_digit($parts[2])) {
            return null;
        }

        return (int) $parts[2];
    }

    public static function remember(FFI $starmile, string $key, int $handle): void
    {
        self::libc()->setenv($key, self::stamp($starmile) . ':' . $handle, 1);
    }

    public static function forget(string $key): void
    {
        $libc = self::libc();
        if ($libc !== null) {
            $libc->unsetenv($key);
        }
    }

    /** This process and this load of the library: "<pid>:<address of sm_version>". */
    private static function stamp(FFI $starmile): string
    {
        return getmypid() . ':' . $starmile->cast('uintptr_t', $starmile->sm_version)->cdata;
    }

    private static function libc(): ?FFI
    {
        if (self::$libc === null) {
            try {
                self::$libc = FFI::cdef(
                    'const char *getenv(const char *name);'
                    . 'int setenv(const char *name, const char *value, int overwrite);'
                    . 'int unsetenv(const char *name);'
                );
            } catch (FFI\Exception $e) {
                return null; // no POSIX environment functions (e.g. Windows)
            }
        }

        return self::$libc;
    }
}
