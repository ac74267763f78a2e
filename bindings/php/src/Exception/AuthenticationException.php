<?php

declare(strict_types=1);

namespace Starmile\Exception;

use Starmile\Response;

/**
 * The credentials were refused: either the token endpoint said so
 * (SM_ERR_AUTH, e.g. invalid_client; no response), or the API answered 401
 * even after the library fetched a fresh token and replayed the request
 * (status name "SM_OK", with the 401 response).
 */
class AuthenticationException extends StarmileException
{
    /** @var Response|null */
    private $response;

    public function __construct(string $message, string $statusName, int $code, ?Response $response = null, ?\Throwable $previous = null)
    {
        parent::__construct($message, $statusName, $code, $previous);
        $this->response = $response;
    }

    /** 401 when the API refused the token; null when the token endpoint refused the credentials. */
    public function getStatusCode(): ?int
    {
        return $this->response === null ? null : $this->response->getStatusCode();
    }

    public function getResponse(): ?Response
    {
        return $this->response;
    }

    public function getRequestId(): ?string
    {
        return $this->response === null ? null : $this->response->getRequestId();
    }
}
