"""Who is calling and what they may do: OpenID Connect access tokens verified against the
provider's keys (tokens), the access policy as data (authorisation), and the province's identities
and the local provider's realm built from them (identities)."""
