{{/*
All checks that values.schema.json cannot express, in one place, each failing with a
message that names the bad value.
*/}}
{{- define "motcua.validate" -}}
{{- $v := .Values -}}
{{- if not (regexMatch "^[a-z][a-z0-9-]{1,30}[a-z0-9]$" $v.province.slug) -}}
{{- fail (printf "province.slug %q must be 3-32 lowercase letters, digits or dashes (it names every resource)" $v.province.slug) -}}
{{- end -}}
{{- if ne .Release.Namespace (printf "motcua-%s" $v.province.slug) -}}
{{- fail (printf "install province %q into namespace motcua-%s, not %q: one namespace per province keeps provinces isolated" $v.province.slug $v.province.slug .Release.Namespace) -}}
{{- end -}}
{{- if and (eq $v.postgresql.mode "external") (not $v.postgresql.external.host) -}}
{{- fail "postgresql.external.host is required when postgresql.mode is external" -}}
{{- end -}}
{{- if and (eq $v.rabbitmq.mode "external") (not $v.rabbitmq.external.host) -}}
{{- fail "rabbitmq.external.host is required when rabbitmq.mode is external" -}}
{{- end -}}
{{- if not $v.oidc.issuer -}}
{{- fail "oidc.issuer is required: the gRPC edges serve only callers with access tokens from the province's issuer" -}}
{{- end -}}
{{- if and (or $v.notification.smsGatewayUrl $v.notification.znsUrl) (not $v.notification.credentialsSecretName) -}}
{{- fail "notification.credentialsSecretName is required with notification.smsGatewayUrl or znsUrl: delivery receipts are verified with its receipts-secret" -}}
{{- end -}}
{{- if and $v.paygov.url (not $v.paygov.secretName) -}}
{{- fail "paygov.secretName is required with paygov.url: the gateway's callbacks are verified with its shared secret" -}}
{{- end -}}
{{- if and $v.vietqr.account (not $v.vietqr.bankBin) -}}
{{- fail "vietqr.bankBin is required with vietqr.account: a VietQR code names the bank by its BIN" -}}
{{- end -}}
{{- if and $v.vietqr.bankSecretName (not $v.vietqr.account) -}}
{{- fail "vietqr.account is required with vietqr.bankSecretName: credit notifications are checked against the collecting account" -}}
{{- end -}}
{{- if and $v.ingress.enabled (not $v.ingress.host) -}}
{{- fail "ingress.host is required when ingress.enabled is true" -}}
{{- end -}}
{{- if eq $v.environment "production" -}}
{{- if eq $v.clock "settable" -}}
{{- fail "clock settable is refused when environment is production" -}}
{{- end -}}
{{- range $name, $url := dict "oidc.issuer" $v.oidc.issuer "oidc.jwksUrl" $v.oidc.jwksUrl -}}
{{- if hasPrefix "http://" $url -}}
{{- fail (printf "%s must be an https URL when environment is production" $name) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if and $v.tls.existingSecret (not $v.tls.serverName) -}}
{{- fail "tls.serverName is required with tls.existingSecret (the name in the edges' certificate the probes and the ingress check)" -}}
{{- end -}}
{{- if eq $v.tls.clientAuth "required" -}}
{{- if not $v.tls.existingSecret -}}
{{- fail "tls.clientAuth required needs TLS: set tls.existingSecret" -}}
{{- end -}}
{{- if not $v.tls.clientCASecret -}}
{{- fail "tls.clientCASecret is required when tls.clientAuth is required (the CA bundle client certificates must chain to)" -}}
{{- end -}}
{{- if not $v.tls.clientSecret -}}
{{- fail "tls.clientSecret is required when tls.clientAuth is required (the certificate the probes and the ingress present)" -}}
{{- end -}}
{{- end -}}
{{- range $name, $svc := $v.services -}}
{{- if and $svc.enabled $svc.grpc.autoscaling.enabled (gt (int $svc.grpc.autoscaling.minReplicas) (int $svc.grpc.autoscaling.maxReplicas)) -}}
{{- fail (printf "services.%s.grpc.autoscaling.minReplicas (%v) is above maxReplicas (%v)" $name $svc.grpc.autoscaling.minReplicas $svc.grpc.autoscaling.maxReplicas) -}}
{{- end -}}
{{- end -}}
{{- end -}}
