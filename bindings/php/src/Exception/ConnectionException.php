<?php

declare(strict_types=1);

namespace Starmile\Exception;

/** SM_ERR_NETWORK: DNS, connect, TLS or a reset connection. */
class ConnectionException extends StarmileException
{
}
