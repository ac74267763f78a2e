<?php

declare(strict_types=1);

namespace Starmile\Exception;

/** HTTP 5xx. */
class InternalServerException extends ApiException
{
}
