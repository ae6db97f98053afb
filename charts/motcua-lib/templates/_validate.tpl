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
{{- if and $v.ingress.enabled (not $v.ingress.host) -}}
{{- fail "ingress.host is required when ingress.enabled is true" -}}
{{- end -}}
{{- if eq $v.environment "production" -}}
{{- if eq $v.clock "settable" -}}
{{- fail "clock settable is refused when environment is production" -}}
{{- end -}}
{{- end -}}
{{- range $name, $svc := $v.services -}}
{{- if and $svc.enabled $svc.grpc.autoscaling.enabled (gt (int $svc.grpc.autoscaling.minReplicas) (int $svc.grpc.autoscaling.maxReplicas)) -}}
{{- fail (printf "services.%s.grpc.autoscaling.minReplicas (%v) is above maxReplicas (%v)" $name $svc.grpc.autoscaling.minReplicas $svc.grpc.autoscaling.maxReplicas) -}}
{{- end -}}
{{- end -}}
{{- end -}}
