# One image per service, each its own build target over the shared Dockerfile:
#   docker buildx bake -f infra/docker/docker-bake.hcl            (every service)
#   docker buildx bake -f infra/docker/docker-bake.hcl intake     (one)
variable "REGISTRY" { default = "ghcr.io/motcua" }
variable "TAG" { default = "0.1.0" }

group "default" { targets = ["intake", "workflow", "reporting", "payment", "notification", "evaluation"] }

target "service" {
  context    = "."
  dockerfile = "infra/docker/service.Dockerfile"
}

target "intake" {
  inherits = ["service"]
  args     = { SERVICE = "intake" }
  tags     = ["${REGISTRY}/intake:${TAG}"]
}

target "workflow" {
  inherits = ["service"]
  args     = { SERVICE = "workflow" }
  tags     = ["${REGISTRY}/workflow:${TAG}"]
}

target "reporting" {
  inherits = ["service"]
  args     = { SERVICE = "reporting" }
  tags     = ["${REGISTRY}/reporting:${TAG}"]
}

target "payment" {
  inherits = ["service"]
  args     = { SERVICE = "payment" }
  tags     = ["${REGISTRY}/payment:${TAG}"]
}

target "notification" {
  inherits = ["service"]
  args     = { SERVICE = "notification" }
  tags     = ["${REGISTRY}/notification:${TAG}"]
}

target "evaluation" {
  inherits = ["service"]
  args     = { SERVICE = "evaluation" }
  tags     = ["${REGISTRY}/evaluation:${TAG}"]
}
