{{/*
One Deployment for one process of one service.
Context: dict root (the chart's root context), service (name), component (grpc|worker|relay),
         replicas, resources, command (list), probes (rendered YAML), ports (rendered YAML).
Secure defaults on every pod: non-root, read-only root filesystem, no capabilities,
no service-account token, probes and resources on every container.
*/}}
{{- define "motcua.deployment" -}}
{{- $root := .root -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "motcua.componentName" . }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "motcua.labels" . | nindent 4 }}
spec:
  {{- if not .autoscaled }}
  replicas: {{ .replicas }}
  {{- end }}
  revisionHistoryLimit: 5
  selector:
    matchLabels:
      {{- include "motcua.selectorLabels" . | nindent 6 }}
  {{- if eq .component "relay" }}
  strategy:
    type: Recreate  # one relay follows one log: never two at once during a rollout
  {{- end }}
  template:
    metadata:
      labels:
        {{- include "motcua.labels" . | nindent 8 }}
      annotations:
        checksum/province-data: {{ include (print $root.Template.BasePath "/configmap-province.yaml") $root | sha256sum }}
    spec:
      serviceAccountName: {{ include "motcua.fullname" $root }}
      automountServiceAccountToken: false
      securityContext:
        runAsNonRoot: true
        runAsUser: 10001
        runAsGroup: 10001
        fsGroup: 10001
        seccompProfile:
          type: RuntimeDefault
      containers:
        - name: {{ .component }}
          image: {{ printf "%s/%s:%s" $root.Values.image.registry .service $root.Values.image.tag | quote }}
          imagePullPolicy: {{ $root.Values.image.pullPolicy }}
          command:
            {{- toYaml .command | nindent 12 }}
          env:
            {{- include "motcua.env" . | nindent 12 }}
          ports:
            {{- .ports | nindent 12 }}
          {{- .probes | nindent 10 }}
          resources:
            {{- toYaml .resources | nindent 12 }}
          securityContext:
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            runAsNonRoot: true
            capabilities:
              drop: ["ALL"]
          volumeMounts:
            - name: province
              mountPath: /etc/motcua/province
              readOnly: true
            - name: tmp
              mountPath: /tmp
            {{- if and (eq .service "workflow") $root.Values.keys.unitKeysSecret }}
            - name: unit-keys
              mountPath: /etc/motcua/unit-keys
              readOnly: true
            {{- end }}
      volumes:
        - name: province
          configMap:
            name: {{ include "motcua.fullname" $root }}-province
        - name: tmp
          emptyDir:
            sizeLimit: 64Mi
        {{- /* Only workflow signs results: no other pod sees the units' keys. */}}
        {{- if and (eq .service "workflow") $root.Values.keys.unitKeysSecret }}
        - name: unit-keys
          secret:
            secretName: {{ $root.Values.keys.unitKeysSecret }}
            defaultMode: 0400
        {{- end }}
{{- end -}}

{{/* The environment every process reads (motcua_common/config/settings.py, telemetry.py). */}}
{{- define "motcua.env" -}}
{{- $v := .root.Values -}}
{{- $full := include "motcua.fullname" .root -}}
- name: MOTCUA_PROVINCE
  value: {{ $v.province.slug | quote }}
- name: MOTCUA_ENVIRONMENT
  value: {{ $v.environment | quote }}
- name: MOTCUA_CLOCK
  value: {{ $v.clock | quote }}
- name: MOTCUA_LOG_LEVEL
  value: {{ $v.logLevel | quote }}
- name: MOTCUA_DATA_DIR
  value: /etc/motcua/province
- name: MOTCUA_PG_HOST
  value: {{ ternary $v.postgresql.external.host (printf "%s-pg-rw" $full) (eq $v.postgresql.mode "external") | quote }}
- name: MOTCUA_PG_PORT
  value: {{ ternary $v.postgresql.external.port 5432 (eq $v.postgresql.mode "external") | quote }}
- name: MOTCUA_PG_DBNAME
  value: {{ $v.postgresql.database | quote }}
- name: MOTCUA_PG_USER
  valueFrom:
    secretKeyRef: {name: {{ ternary $v.postgresql.existingSecret (printf "%s-pg-app" $full) (eq $v.postgresql.mode "external") }}, key: username}
- name: MOTCUA_PG_PASSWORD
  valueFrom:
    secretKeyRef: {name: {{ ternary $v.postgresql.existingSecret (printf "%s-pg-app" $full) (eq $v.postgresql.mode "external") }}, key: password}
- name: MOTCUA_AMQP_USER
  valueFrom:
    secretKeyRef: {name: {{ ternary $v.rabbitmq.existingSecret (printf "%s-mq-user-user-credentials" $full) (eq $v.rabbitmq.mode "external") }}, key: username}
- name: MOTCUA_AMQP_PASSWORD
  valueFrom:
    secretKeyRef: {name: {{ ternary $v.rabbitmq.existingSecret (printf "%s-mq-user-user-credentials" $full) (eq $v.rabbitmq.mode "external") }}, key: password}
- name: MOTCUA_AMQP_URI
  value: {{ printf "amqp://$(MOTCUA_AMQP_USER):$(MOTCUA_AMQP_PASSWORD)@%s:%v/%s" (ternary $v.rabbitmq.external.host (printf "%s-mq" $full) (eq $v.rabbitmq.mode "external")) (ternary $v.rabbitmq.external.port 5672 (eq $v.rabbitmq.mode "external")) $v.rabbitmq.vhost | quote }}
- name: MOTCUA_SUBJECT_KEK
  valueFrom:
    secretKeyRef: {name: {{ $v.keys.existingSecret }}, key: subject-kek}
- name: MOTCUA_AUDIT_SIGNING_KEY
  valueFrom:
    secretKeyRef: {name: {{ $v.keys.existingSecret }}, key: audit-signing-key}
{{- if and (eq .service "workflow") $v.keys.unitKeysSecret }}
- name: MOTCUA_UNIT_KEYS_DIR
  value: /etc/motcua/unit-keys
{{- end }}
- name: MOTCUA_METRICS_PORT
  value: "9100"
- name: MOTCUA_METRICS_ADDRESS
  value: "0.0.0.0"
- name: MOTCUA_TRACES_EXPORTER
  value: {{ $v.telemetry.tracesExporter | quote }}
- name: MOTCUA_TRACES_SAMPLE_RATIO
  value: {{ $v.telemetry.sampleRatio | quote }}
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ $v.telemetry.otlpEndpoint | quote }}
- name: {{ printf "MOTCUA_%s_GRPC_ADDRESS" (upper .service) }}
  value: "0.0.0.0:50051"
{{- end -}}

{{/* The pod spec of a one-off Job (schema setup, rebuild), with the same secure defaults. */}}
{{- define "motcua.jobPod" -}}
{{- $root := .root -}}
restartPolicy: OnFailure
serviceAccountName: {{ include "motcua.fullname" $root }}
automountServiceAccountToken: false
securityContext:
  runAsNonRoot: true
  runAsUser: 10001
  runAsGroup: 10001
  seccompProfile:
    type: RuntimeDefault
containers:
  - name: {{ .ctx.component }}
    image: {{ printf "%s/%s:%s" $root.Values.image.registry .ctx.service $root.Values.image.tag | quote }}
    imagePullPolicy: {{ $root.Values.image.pullPolicy }}
    command:
      {{- toYaml .command | nindent 6 }}
    env:
      {{- include "motcua.env" .ctx | nindent 6 }}
    resources:
      requests: {cpu: 100m, memory: 128Mi}
      limits: {cpu: "1", memory: 512Mi}
    securityContext:
      allowPrivilegeEscalation: false
      readOnlyRootFilesystem: true
      runAsNonRoot: true
      capabilities:
        drop: ["ALL"]
    volumeMounts:
      - {name: tmp, mountPath: /tmp}
      {{- if .withProvince }}
      - {name: province, mountPath: /etc/motcua/province, readOnly: true}
      {{- end }}
volumes:
  - name: tmp
    emptyDir: {sizeLimit: 64Mi}
  {{- if .withProvince }}
  - name: province
    configMap:
      name: {{ include "motcua.fullname" $root }}-province
  {{- end }}
{{- end -}}
