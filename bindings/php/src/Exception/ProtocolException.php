<?php

declare(strict_types=1);

namespace Starmile\Exception;

/** SM_ERR_PROTOCOL: an unusable answer (token response not JSON, no access_token, body too large ...). */
class ProtocolException extends StarmileException
{
}
