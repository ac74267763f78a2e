<?php

declare(strict_types=1);

namespace Starmile\Exception;

/** HTTP 404. */
class NotFoundException extends ApiException
{
}
