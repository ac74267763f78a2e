<?php

declare(strict_types=1);

namespace Starmile\Tests;

use FFI;
use Starmile\Native\Declarations;
use Starmile\Native\Library;

/** The generated declarations and the library lookup order (CONTRACT §7). */
final class LibraryTest extends \PHPUnit\Framework\TestCase
{
    private const PACKAGE = __DIR__ . '/..';

    /** @var string[] temporary directories to remove */
    private $temporary = [];

    protected function tearDown(): void
    {
        foreach ($this->temporary as $directory) {
            exec('rm -rf ' . escapeshellarg($directory));
        }
    }

    public function testDeclarationsAreWhatFfiAccepts(): void
    {
        $declarations = Declarations::fromHeader((string) file_get_contents(self::header()));

        foreach (explode("\n", $declarations) as $line) {
            self::assertStringStartsNotWith('#', ltrim($line));
        }
        self::assertStringNotContainsString('extern "C"', $declarations);
        self::assertStringEndsWith("\n", $declarations);
        self::assertStringContainsString('sm_status sm_request(', $declarations);

        $ffi = FFI::cdef($declarations, self::library());
        self::assertSame('SM_ERR_PROTOCOL', $ffi->sm_status_name(7));
    }

    public function testGuardsContinuationsAndAMissingFinalNewlineAreHandled(): void
    {
        $header = implode("\n", [
            '#ifndef GUARD_H',
            '#define LONG_MACRO(x) \\',
            '    do { x; } while (0)',
            '#if defined(__cplusplus)',
            '#ifdef SOMETHING',
            'namespace nope {',
            '#endif',
            'extern "C" {',
            '#endif',
            'size_t strlen(const char *s);',
            '#ifdef __cplusplus',
            '}  // extern "C"',
            '#endif',
            '#endif /* GUARD_H */',
        ]);

        $declarations = Declarations::fromHeader($header);

        self::assertStringNotContainsString('nope', $declarations);
        self::assertStringNotContainsString('do {', $declarations);
        self::assertSame(5, FFI::cdef($declarations)->strlen('hello'));
    }

    public function testTheBuildScriptWritesTheSameDeclarations(): void
    {
        $output = self::temporaryDirectory($this) . '/starmile.h';
        exec(escapeshellarg(PHP_BINARY) . ' ' . escapeshellarg(self::PACKAGE . '/bin/generate-ffi-header') . ' --output ' . escapeshellarg($output), $lines, $exit);

        self::assertSame(0, $exit);
        self::assertSame(Declarations::fromHeader((string) file_get_contents(self::header())), file_get_contents($output));
    }

    public function testPreloadHeaderLoadsAsAScope(): void
    {
        // What ffi.preload does with it, done here with FFI::load().
        $file = self::temporaryDirectory($this) . '/starmile.h';
        file_put_contents($file, Declarations::forPreload(Library::declarations(), 'STARMILE_TEST', self::library()));

        self::assertStringStartsWith("#define FFI_SCOPE \"STARMILE_TEST\"\n#define FFI_LIB ", (string) file_get_contents($file));
        self::assertSame(\Starmile\Client::version(), FFI::load($file)->sm_version());
    }

    public function testAnInstalledPackageMakesItsPreloadHeaderFromItsDeclarations(): void
    {
        // vendor/starmile/partner-sdk has no include/starmile.h: only generated/.
        $package = self::copyOfPackage($this);
        $file = "$package/starmile.h";
        exec(implode(' ', array_map('escapeshellarg', [
            PHP_BINARY, "$package/bin/generate-ffi-header", '--scope', 'STARMILE_INSTALLED', '--lib', self::library(), '--output', $file,
        ])), $lines, $exit);

        self::assertSame(0, $exit, implode("\n", $lines));
        self::assertSame(\Starmile\Client::version(), FFI::load($file)->sm_version());
    }

    public function testStarmileLibIsUsedFirst(): void
    {
        $result = self::runPhp(self::PACKAGE, ['STARMILE_LIB' => self::library()]);

        self::assertSame(self::library(), $result['origin']);
    }

    public function testAStarmileLibThatDoesNotLoadIsAnErrorNotAFallback(): void
    {
        $result = self::runPhp(self::PACKAGE, ['STARMILE_LIB' => '/nonexistent/libstarmile.so']);

        self::assertSame('Starmile\Exception\StarmileException', $result['error']);
        self::assertStringContainsString('STARMILE_LIB', $result['message']);
        self::assertStringContainsString('/nonexistent/libstarmile.so', $result['message']);
    }

    public function testTheBundledCopyComesNext(): void
    {
        $package = self::copyOfPackage($this);
        mkdir("$package/lib");
        symlink(self::library(), "$package/lib/" . Library::fileName());

        $result = self::runPhp($package, []);

        self::assertSame(realpath($package) . '/lib/' . Library::fileName(), $result['origin']);
        self::assertSame(\Starmile\Client::version(), $result['version']);
    }

    public function testTheSystemLoaderComesLast(): void
    {
        $package = self::copyOfPackage($this);

        $result = self::runPhp($package, ['LD_LIBRARY_PATH' => dirname(self::library())]);

        self::assertSame(Library::fileName(), $result['origin']);
        self::assertSame(\Starmile\Client::version(), $result['version']);
    }

    public function testDeclarationsAreGeneratedFromTheHeaderWhenTheBuildDidNot(): void
    {
        // A checkout where `make generate` has not run: <root>/include/starmile.h exists.
        $root = self::temporaryDirectory($this);
        mkdir("$root/include");
        copy(self::header(), "$root/include/starmile.h");
        $package = self::copyOfPackage($this, "$root/bindings/php", false);

        $result = self::runPhp($package, ['STARMILE_LIB' => self::library()]);

        self::assertSame(\Starmile\Client::version(), $result['version']);
    }

    public function testMissingDeclarationsSayHowToMakeThem(): void
    {
        $package = self::copyOfPackage($this, null, false);

        $result = self::runPhp($package, ['STARMILE_LIB' => self::library()]);

        self::assertStringContainsString('make -C bindings/php generate', $result['message']);
    }

    private static function header(): string
    {
        return dirname(__DIR__, 3) . '/include/starmile.h';
    }

    private static function library(): string
    {
        return (string) getenv('STARMILE_LIB');
    }

    private static function temporaryDirectory(self $test): string
    {
        $directory = sys_get_temp_dir() . '/starmile-php-test-' . bin2hex(random_bytes(6));
        mkdir($directory, 0777, true);
        $test->temporary[] = $directory;

        return $directory;
    }

    /** src/, bin/, autoload.php and (unless told not to) generated/ of this package, copied. */
    private static function copyOfPackage(self $test, ?string $into = null, bool $withDeclarations = true): string
    {
        $package = $into ?? self::temporaryDirectory($test) . '/php';
        mkdir($package, 0777, true);
        $parts = $withDeclarations ? 'src bin autoload.php generated' : 'src bin autoload.php';
        exec('cd ' . escapeshellarg(self::PACKAGE) . " && cp -R $parts " . escapeshellarg($package), $lines, $exit);
        self::assertSame(0, $exit);

        return $package;
    }

    /**
     * Runs a fresh PHP that loads the library from $package, with STARMILE_LIB
     * unset unless $environment sets it.
     *
     * @param array<string, string> $environment
     * @return array<string, string>
     */
    private static function runPhp(string $package, array $environment): array
    {
        $script = <<<'PHP'
            require getenv('PACKAGE') . '/autoload.php';
            try {
                echo json_encode(['origin' => Starmile\Native\Library::origin(), 'version' => Starmile\Client::version()]);
            } catch (Throwable $e) {
                echo json_encode(['error' => get_class($e), 'message' => $e->getMessage()]);
            }
            PHP;
        $env = getenv();
        unset($env['STARMILE_LIB'], $env['LD_LIBRARY_PATH']);
        $env = $environment + ['PACKAGE' => $package] + $env;
        $process = proc_open([PHP_BINARY, '-r', $script], [1 => ['pipe', 'w'], 2 => ['pipe', 'w']], $pipes, null, $env);
        $output = stream_get_contents($pipes[1]);
        $errors = stream_get_contents($pipes[2]);
        proc_close($process);
        $result = json_decode((string) $output, true);
        self::assertIsArray($result, "child PHP printed: $output $errors");

        return $result;
    }
}
