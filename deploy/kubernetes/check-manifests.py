#!/usr/bin/env python3
"""Checks that the AnnServer containers in these manifests ask the real server for settings it has.

For every container running the annserver image (StatefulSet and Deployment), it gathers the environment the pod would
get (the ConfigMaps it names in envFrom, its env list; Secret values and fieldRefs become placeholders) and its args
with $(VAR) expanded as Kubernetes does, then:
  * runs `annserver ARGS --help` with that environment: the server parses every option and every ANNSERVER_* variable
    it knows (an unknown option or a malformed value exits 2 with the setting's name), without starting;
  * checks every ANNSERVER_* variable set is one that `annserver --help` lists (the server ignores unknown ones);
  * checks the probes and container ports use the gRPC and metrics ports the settings give.
No Kubernetes cluster is needed. Needs python3 with PyYAML (Debian: python3-yaml) and a built annserver:

  dotnet build src/AnnServer --artifacts-path /tmp/art
  python3 deploy/kubernetes/check-manifests.py --annserver "dotnet /tmp/art/bin/AnnServer/debug/annserver.dll"

Exit status 0 when everything matches, 1 with one line per mismatch otherwise.
"""
import argparse
import os
import re
import shlex
import subprocess
import sys

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))


def load_documents():
    with open(os.path.join(HERE, "kustomization.yaml")) as f:
        kustomization = yaml.safe_load(f)
    documents = []
    for resource in kustomization["resources"]:
        with open(os.path.join(HERE, resource)) as f:
            documents.extend(d for d in yaml.safe_load_all(f) if d)
    return documents


def expand(text, env):
    """$(VAR) as Kubernetes expands it in args and env values; an unknown $(VAR) stays as written."""
    return re.sub(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", lambda m: env.get(m.group(1), m.group(0)), text)


def pod_environment(container, config_maps):
    env = {}
    for source in container.get("envFrom", []):
        env.update(config_maps[source["configMapRef"]["name"]])
    for item in container.get("env", []):
        if "value" in item:
            env[item["name"]] = expand(str(item["value"]), env)
        elif "fieldRef" in item.get("valueFrom", {}):
            field = item["valueFrom"]["fieldRef"]["fieldPath"]
            env[item["name"]] = {"metadata.name": "annserver-node-0", "metadata.namespace": "annserver",
                                 "status.podIP": "10.0.0.7"}[field]
        else:
            # A Secret's value: the placeholder is never parsed in --help mode (keys are checked at start).
            env[item["name"]] = "placeholder"
    return env


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--annserver", required=True, help='command that runs the server, e.g. "dotnet .../annserver.dll"')
    options = parser.parse_args()
    command = shlex.split(options.annserver)

    documents = load_documents()
    config_maps = {d["metadata"]["name"]: d.get("data", {}) for d in documents if d["kind"] == "ConfigMap"}
    help_text = subprocess.run(command + ["--help"], capture_output=True, text=True, check=True).stdout
    known_variables = set(re.findall(r"\((ANNSERVER_[A-Z_]+);", help_text)) | {"ANNSERVER_SNAPSHOTS"}

    problems = []
    checked = 0
    for workload in (d for d in documents if d["kind"] in ("StatefulSet", "Deployment")):
        for container in workload["spec"]["template"]["spec"]["containers"]:
            if not container["image"].startswith("annserver"):
                continue
            where = f'{workload["kind"]}/{workload["metadata"]["name"]}'
            env = pod_environment(container, config_maps)
            args = [expand(a, env) for a in container.get("args", [])]
            clean = {k: v for k, v in os.environ.items() if not k.startswith("ANNSERVER_")}
            run = subprocess.run(command + args + ["--help"], env={**clean, **env}, capture_output=True, text=True)
            if run.returncode != 0:
                problems.append(f"{where}: the server refuses its settings: {(run.stderr or run.stdout).strip()}")
            for name in sorted(k for k in env if k.startswith("ANNSERVER_") and k not in known_variables):
                problems.append(f"{where}: {name} is not a setting of the server (annserver --help)")
            grpc_port = int(env.get("ANNSERVER_PORT", 50051))
            metrics_port = int(env.get("ANNSERVER_METRICS_PORT", 9090))
            ports = {p["name"]: p["containerPort"] for p in container.get("ports", [])}
            if ports.get("grpc") != grpc_port:
                problems.append(f"{where}: containerPort grpc is {ports.get('grpc')}, the server listens on {grpc_port}")
            if ports.get("metrics") != metrics_port:
                problems.append(f"{where}: containerPort metrics is {ports.get('metrics')}, the server serves /metrics on {metrics_port}")
            for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                grpc = container.get(probe, {}).get("grpc")
                if grpc is None:
                    problems.append(f"{where}: {probe} is not a grpc.health.v1 probe")
                elif grpc.get("port") != grpc_port:
                    problems.append(f"{where}: {probe} asks port {grpc.get('port')}, the server's gRPC port is {grpc_port}")
            checked += 1

    for problem in problems:
        print(problem)
    if checked == 0:
        print("no annserver container found")
        return 1
    print(f"{checked} annserver containers checked: {'OK' if not problems else f'{len(problems)} problems'}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
