#!/usr/bin/env node
// Offline validation of Kubernetes manifests (packaging/k8s): every
// document of every file given
//  1. against the API's OpenAPI schemas as kubernetes-models compiles
//     them (types, required fields, enums, formats), and
//  2. against the API's types as kubernetes-types declares them, checked
//     by TypeScript, which refuses fields the type does not have (a typo
//     such as `imag:` passes the schemas, which allow unknown fields, as
//     the API server does unless asked for strict field validation).
// Prints one line per document; exits 1 when any fails.
//
//   node validate.js FILE.yaml...
"use strict";
const fs = require("fs");
const os = require("os");
const path = require("path");
const YAML = require("yaml");
const ts = require("typescript");

// apiVersion/kind -> [kubernetes-models module, kubernetes-types module, type]
const KINDS = {
  "v1/ServiceAccount": ["v1/ServiceAccount", "core/v1", "ServiceAccount"],
  "v1/ConfigMap": ["v1/ConfigMap", "core/v1", "ConfigMap"],
  "rbac.authorization.k8s.io/v1/ClusterRole": [
    "rbac.authorization.k8s.io/v1/ClusterRole", "rbac/v1", "ClusterRole"],
  "rbac.authorization.k8s.io/v1/ClusterRoleBinding": [
    "rbac.authorization.k8s.io/v1/ClusterRoleBinding", "rbac/v1", "ClusterRoleBinding"],
  "apps/v1/DaemonSet": ["apps/v1/DaemonSet", "apps/v1", "DaemonSet"],
};

function documents(file) {
  const out = [];
  YAML.parseAllDocuments(fs.readFileSync(file, "utf8")).forEach((doc, i) => {
    const where = `${file} document ${i + 1}`;
    if (doc.errors.length) throw new Error(`${where}: not YAML: ${doc.errors[0].message}`);
    const obj = doc.toJS();
    if (obj !== null) out.push({ where, obj });
  });
  return out;
}

function schemaProblems(obj) {
  const kind = KINDS[`${obj.apiVersion}/${obj.kind}`];
  if (!kind) return [`${obj.apiVersion} ${obj.kind} is not a kind this check knows`];
  const Model = require(`kubernetes-models/${kind[0]}`)[obj.kind];
  try {
    new Model(obj).validate();
    return [];
  } catch (e) {
    return [`schema: ${e.message}`];
  }
}

// All documents in one TypeScript file, each a typed constant: the
// compiler reports excess (unknown) properties and wrong types.
function typeProblems(docs) {
  const dir = fs.mkdtempSync(path.join(__dirname, ".check-"));
  try {
    const imports = new Set();
    const lines = [];
    docs.forEach((d, i) => {
      const kind = KINDS[`${d.obj.apiVersion}/${d.obj.kind}`];
      if (!kind) return;
      imports.add(`import type { ${kind[2]} as T${i} } from "kubernetes-types/${kind[1]}";`);
      lines.push(`export const doc${i}: T${i} = ${JSON.stringify(d.obj, null, 1)};`);
    });
    const file = path.join(dir, "manifests.ts");
    const text = [...imports, ...lines].join("\n") + "\n";
    fs.writeFileSync(file, text);
    const program = ts.createProgram([file], {
      strict: true, noEmit: true, types: [], moduleResolution: ts.ModuleResolutionKind.Node10,
    });
    const problems = docs.map(() => []);
    for (const diag of ts.getPreEmitDiagnostics(program)) {
      const message = ts.flattenDiagnosticMessageText(diag.messageText, " ");
      let index = -1;
      if (diag.file && diag.start !== undefined) {
        const before = text.slice(0, diag.start);
        const m = before.match(/export const doc(\d+)[^]*$/);
        if (m) index = Number(m[1]);
      }
      if (index < 0) throw new Error(`TypeScript: ${message}`);
      problems[index].push(`types: ${message}`);
    }
    return problems;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function main() {
  const files = process.argv.slice(2);
  if (!files.length) {
    console.error("usage: validate.js FILE.yaml...");
    process.exit(2);
  }
  const docs = files.flatMap(documents);
  const typed = typeProblems(docs);
  let failed = 0;
  docs.forEach((d, i) => {
    const problems = [...schemaProblems(d.obj), ...typed[i]];
    const name = `${d.obj.kind} ${d.obj.metadata && d.obj.metadata.name}`;
    if (problems.length) {
      failed++;
      console.log(`FAIL - ${d.where} (${name}): ${problems.join("; ")}`);
    } else {
      console.log(`ok   - ${d.where} (${name})`);
    }
  });
  console.log(`${docs.length - failed} valid, ${failed} invalid`);
  process.exit(failed ? 1 : 0);
}

main();
