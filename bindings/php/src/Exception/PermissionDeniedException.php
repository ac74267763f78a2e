<?php

declare(strict_types=1);

namespace Starmile\Exception;

/** HTTP 403. */
class PermissionDeniedException extends ApiException
{
}
