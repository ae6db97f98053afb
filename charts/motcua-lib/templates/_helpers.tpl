{{/* Names are truncated to 63 characters: Kubernetes refuses longer DNS labels. */}}
{{- define "motcua.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "motcua.fullname" -}}
{{- printf "motcua-%s" .Values.province.slug | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The name of one process of one service, e.g. motcua-quang-tri-intake-grpc. */}}
{{- define "motcua.componentName" -}}
{{- printf "%s-%s-%s" (include "motcua.fullname" .root) .service .component | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Selector labels never change after install; the other labels may. */}}
{{- define "motcua.selectorLabels" -}}
app.kubernetes.io/name: {{ include "motcua.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
motcua.vn/service: {{ .service }}
motcua.vn/component: {{ .component }}
{{- end -}}

{{- define "motcua.labels" -}}
{{ include "motcua.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Values.image.tag | quote }}
app.kubernetes.io/part-of: motcua
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version }}
motcua.vn/province: {{ .root.Values.province.slug }}
{{- end -}}

{{- define "motcua.commonLabels" -}}
app.kubernetes.io/name: {{ include "motcua.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/part-of: motcua
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
motcua.vn/province: {{ .Values.province.slug }}
{{- end -}}
