<?php

declare(strict_types=1);

namespace Starmile\Exception;

/** SM_ERR_INVALID_ARGUMENT: bad config, bad URL, a cross-origin URL, CR/LF in a header, an unknown option ... */
class InvalidArgumentException extends StarmileException
{
}
