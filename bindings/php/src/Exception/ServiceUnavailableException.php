<?php

declare(strict_types=1);

namespace Starmile\Exception;

/** SM_ERR_UNAVAILABLE: the token endpoint kept answering 429/5xx after the retries. */
class ServiceUnavailableException extends StarmileException
{
}
