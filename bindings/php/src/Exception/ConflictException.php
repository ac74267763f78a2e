<?php

declare(strict_types=1);

namespace Starmile\Exception;

/** HTTP 409. */
class ConflictException extends ApiException
{
}
