<?php

declare(strict_types=1);

namespace Starmile\Native;

use FFI;
use Starmile\Exception\StarmileException;

/**
 * Loads libstarmile once per request (once per process under the CLI) and
 * hands out the FFI object every class of the binding calls through.
 *
 * Where the library comes from, first match wins:
 *  1. the FFI scope "STARMILE" that php.ini's ffi.preload set up (PHP-FPM:
 *     loaded once in the master, shared by every worker, never unloaded);
 *  2. env STARMILE_LIB, a file path;
 *  3. the copy bundled with the package, lib/libstarmile.so;
 *  4. the system loader ("libstarmile.so" on the library search path).
 */
final class Library
{
    /** The FFI_SCOPE name a preload header must define. */
    public const SCOPE = 'STARMILE';

    /** @var FFI|null */
    private static $ffi = null;

    /** @var string how the library was found, for messages */
    private static $origin = '';

    /** @var bool whether the library outlives the current request */
    private static $resident = false;

    public static function ffi(): FFI
    {
        if (self::$ffi === null) {
            self::load();
        }

        return self::$ffi;
    }

    /**
     * True when library state (clients, cached tokens) outlives the current
     * request: under the CLI, or when the library came from ffi.preload.
     * Under FPM without ffi.preload, FFI::cdef() opens the library in every
     * request and closes it at the end; whether it then leaves the process
     * is up to the system loader (glibc keeps it once it has run a network
     * call), so nothing may count on its state surviving.
     */
    public static function isResident(): bool
    {
        self::ffi();

        return self::$resident;
    }

    /** "ffi.preload scope STARMILE", or the path the library was loaded from. */
    public static function origin(): string
    {
        self::ffi();

        return self::$origin;
    }

    /** The file name of the shared library on this platform. */
    public static function fileName(): string
    {
        switch (PHP_OS_FAMILY) {
            case 'Darwin':
                return 'libstarmile.dylib';
            case 'Windows':
                return 'starmile.dll';
            default:
                return 'libstarmile.so';
        }
    }

    /** The package's bundled copy of the library (it may not exist). */
    public static function bundledPath(): string
    {
        return dirname(__DIR__, 2) . '/lib/' . self::fileName();
    }

    /**
     * The FFI declarations: the file generated at build time, else generated
     * now from the repository's include/starmile.h.
     */
    public static function declarations(): string
    {
        $generated = dirname(__DIR__, 2) . '/generated/starmile.h';
        if (is_file($generated)) {
            $text = file_get_contents($generated);
            if ($text !== false) {
                return $text;
            }
        }
        $header = dirname(__DIR__, 4) . '/include/starmile.h';
        $source = is_file($header) ? file_get_contents($header) : false;
        if ($source === false) {
            throw new StarmileException(
                "libstarmile's FFI declarations are missing: run `make -C bindings/php generate` "
                . "(it writes $generated from include/starmile.h)"
            );
        }

        return Declarations::fromHeader($source);
    }

    private static function load(): void
    {
        if (!extension_loaded('ffi')) {
            throw new StarmileException('the PHP extension "ffi" is not loaded (install/enable ext-ffi)');
        }

        if ((string) ini_get('ffi.preload') !== '') {
            try {
                self::$ffi = FFI::scope(self::SCOPE);
                self::$origin = 'ffi.preload scope ' . self::SCOPE;
                self::$resident = true;

                return;
            } catch (FFI\Exception $e) {
                // ffi.preload holds other headers only: fall through to cdef.
            }
        }

        $declarations = self::declarations();
        $envPath = getenv('STARMILE_LIB');
        if (is_string($envPath) && $envPath !== '') {
            // An explicit path that fails is an error, not a hint to look elsewhere.
            self::$ffi = self::cdef($declarations, $envPath, 'STARMILE_LIB');
        } elseif (is_file(self::bundledPath())) {
            self::$ffi = self::cdef($declarations, self::bundledPath(), 'the bundled copy');
        } else {
            self::$ffi = self::cdef($declarations, self::fileName(), 'the system loader');
        }
        self::$resident = PHP_SAPI === 'cli' || PHP_SAPI === 'phpdbg';
    }

    private static function cdef(string $declarations, string $library, string $how): FFI
    {
        try {
            $ffi = FFI::cdef($declarations, $library);
        } catch (FFI\Exception $e) {
            $hint = strpos($e->getMessage(), 'ffi.enable') !== false
                ? ' (outside the CLI, FFI is allowed only from preloaded code: set opcache.preload to the package\'s preload.php, see README "PHP-FPM")'
                : '';
            throw new StarmileException("cannot load libstarmile from $library ($how): " . $e->getMessage() . $hint, 'SM_ERR_UNKNOWN', 0, $e);
        }
        self::$origin = $library;

        return $ffi;
    }
}
