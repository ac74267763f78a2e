<?php

declare(strict_types=1);

namespace Starmile\Exception;

/** HTTP 422. */
class UnprocessableEntityException extends ApiException
{
}
