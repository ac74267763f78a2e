<?php

declare(strict_types=1);

namespace Starmile\Native;

/**
 * Turns include/starmile.h into declarations PHP's FFI parser accepts.
 *
 * FFI::cdef() skips `#` lines but rejects the C++ guard (`extern "C" {` and
 * its closing brace), and a file whose last line lacks a newline is a parse
 * error. So: drop every preprocessor line, drop whatever sits inside
 * `#ifdef __cplusplus` blocks, and end with a newline. Generating this at
 * build time (bin/generate-ffi-header) keeps one source of truth: the header.
 */
final class Declarations
{
    /** The declarations in $header, the text of starmile.h, for FFI::cdef(). */
    public static function fromHeader(string $header): string
    {
        $out = [];
        // Depth of open #if blocks, and the depth at which a
        // `#ifdef __cplusplus` began (null when outside one).
        $depth = 0;
        $cplusplusDepth = null;
        $continued = false;

        foreach (preg_split('/\r?\n/', $header) as $line) {
            $trimmed = ltrim($line);
            if ($continued || ($trimmed !== '' && $trimmed[0] === '#')) {
                $isContinuation = $continued;
                $continued = substr(rtrim($line), -1) === '\\';
                if ($isContinuation) {
                    continue;
                }
                $directive = preg_replace('/^#\s*/', '', $trimmed);
                if (preg_match('/^if(n?def)?\b/', $directive)) {
                    $depth++;
                    if ($cplusplusDepth === null && preg_match('/^(ifdef\s+__cplusplus\b|if\s+defined\s*\(?\s*__cplusplus\b)/', $directive)) {
                        $cplusplusDepth = $depth;
                    }
                } elseif (preg_match('/^endif\b/', $directive)) {
                    if ($cplusplusDepth === $depth) {
                        $cplusplusDepth = null;
                    }
                    $depth--;
                }
                continue;
            }
            if ($cplusplusDepth !== null) {
                continue;
            }
            $out[] = $line;
        }

        // Dropped directives leave runs of blank lines; keep at most one.
        $body = preg_replace("/\n{3,}/", "\n\n", trim(implode("\n", $out), "\n"));

        return "/* Generated from include/starmile.h by bin/generate-ffi-header; do not edit. */\n\n" . $body . "\n";
    }

    /**
     * A header for php.ini's ffi.preload (or FFI::load()): the declarations
     * under `#define FFI_SCOPE` and `#define FFI_LIB`, which FFI::load() reads
     * only from the file's first lines.
     */
    public static function forPreload(string $declarations, string $scope, string $library): string
    {
        return '#define FFI_SCOPE "' . addcslashes($scope, "\"\\") . "\"\n"
            . '#define FFI_LIB "' . addcslashes($library, "\"\\") . "\"\n"
            . $declarations;
    }
}
