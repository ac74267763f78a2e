<?php

declare(strict_types=1);

namespace Starmile\Exception;

/** SM_ERR_TIMEOUT: a timeout_ms or connect_timeout_ms ran out. A kind of ConnectionException. */
class TimeoutException extends ConnectionException
{
}
