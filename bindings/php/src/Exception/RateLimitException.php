<?php

declare(strict_types=1);

namespace Starmile\Exception;

/** HTTP 429 (the library already honoured Retry-After up to max_retries). */
class RateLimitException extends ApiException
{
}
