<?php

declare(strict_types=1);

namespace Starmile\Exception;

/**
 * Base of every error this SDK throws.
 *
 * getStatusName() is the library's sm_status name ("SM_ERR_AUTH", ...). For
 * an HTTP error the library call itself succeeded, so it is "SM_OK" and the
 * HTTP status is the error (see ApiException). getCode() is the numeric
 * sm_status, or the HTTP status for HTTP errors.
 */
class StarmileException extends \RuntimeException
{
    /** @var string */
    private $statusName;

    public function __construct(string $message, string $statusName = 'SM_ERR_UNKNOWN', int $code = 0, ?\Throwable $previous = null)
    {
        parent::__construct($message, $code, $previous);
        $this->statusName = $statusName;
    }

    public function getStatusName(): string
    {
        return $this->statusName;
    }
}
