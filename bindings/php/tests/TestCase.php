<?php

declare(strict_types=1);

namespace Starmile\Tests;

use Starmile\Client;
use Starmile\Tests\Support\Sandbox;

abstract class TestCase extends \PHPUnit\Framework\TestCase
{
    /** @var Sandbox */
    protected $sandbox;

    protected function setUp(): void
    {
        $this->sandbox = Sandbox::shared();
        $this->sandbox->reset();
    }

    /** A client of the shared sandbox; $extra adds or overrides config keys. */
    protected function client(array $extra = []): Client
    {
        return new Client($this->sandbox->config($extra));
    }

    /** A loopback port nothing listens on. */
    protected static function closedPort(): int
    {
        $server = stream_socket_server('tcp://127.0.0.1:0');
        $port = (int) substr(strrchr(stream_socket_get_name($server, false), ':'), 1);
        fclose($server);

        return $port;
    }
}
