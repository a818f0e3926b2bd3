/**
 * `vigil-model-server`: serve the example models, and switch faults on a running server.
 *
 *   vigil-model-server serve --port 8081 --grpc-port 8001 --models credit-scorer --loading-ms 3000 \
 *     --enable-faults --admin-token secret --fault latency:ms=200
 *   vigil-model-server fault set nan --url http://127.0.0.1:8081 --token secret
 *   vigil-model-server fault clear --url http://127.0.0.1:8081 --token secret
 */
import { randomBytes } from 'node:crypto';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { FAULT_MODES, FaultError, parseFaultArg } from './faults.js';
import { MODEL_NAMES, type ModelName } from './models.js';
import { createModelServer } from './server.js';

const TOKEN_ENV = 'MODEL_SERVER_ADMIN_TOKEN';

function intArg(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isSafeInteger(n) || n < 0)
      throw new InvalidArgumentError(`${name} must be a non-negative integer`);
    return n;
  };
}

function collectFault(value: string, previous: string[]): string[] {
  try {
    parseFaultArg(value);
  } catch (err) {
    if (err instanceof FaultError) throw new InvalidArgumentError(err.message);
    throw err;
  }
  return [...previous, value];
}

function modelsArg(value: string): ModelName[] {
  const names = value.split(',').map((s) => s.trim());
  for (const n of names) {
    if (!(MODEL_NAMES as readonly string[]).includes(n))
      throw new InvalidArgumentError(`unknown model "${n}"; known: ${MODEL_NAMES.join(', ')}`);
  }
  return names as ModelName[];
}

async function admin(
  method: string,
  path: string,
  opts: { url: string; token?: string },
  body?: unknown,
): Promise<void> {
  if (!opts.token) throw new InvalidArgumentError(`an admin token is required: --token or $${TOKEN_ENV}`);
  const init: RequestInit = { method, headers: { authorization: `Bearer ${opts.token}` } };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers = { ...init.headers, 'content-type': 'application/json' };
  }
  const res = await fetch(new URL(path, opts.url), init);
  const text = await res.text();
  if (!res.ok) {
    process.exitCode = 1;
    console.error(`HTTP ${res.status}: ${text}`);
    return;
  }
  console.log(text);
}

/** Builds the command-line program. */
export function createProgram(): Command {
  // exitOverride before the subcommands exist, so they inherit it: usage errors reach main() as
  // CommanderErrors, which maps them to exit code 2.
  const program = new Command('vigil-model-server')
    .exitOverride()
    .description(
      'Real ONNX models (credit-scorer, product-categorizer) over the Open Inference Protocol v2, with fault injection',
    );

  program
    .command('serve', { isDefault: true })
    .description('serve the models')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('-p, --port <port>', 'port to listen on (0 = any free port)', intArg('--port'), 8080)
    .option(
      '--grpc-port <port>',
      'also serve OIP over gRPC (and grpc.health.v1) on this port (0 = any free port); off by default',
      intArg('--grpc-port'),
    )
    .option(
      '--grpc-raw-outputs',
      'gRPC inference answers in raw_output_contents (as Triton) instead of typed contents',
      false,
    )
    .option('--models <names>', `comma-separated models (${MODEL_NAMES.join(', ')})`, modelsArg)
    .option(
      '--loading-ms <ms>',
      'simulated weight-loading time: live 200, ready 503',
      intArg('--loading-ms'),
      0,
    )
    .option(
      '--warmup-inferences <n>',
      'dummy inferences per model during warm-up',
      intArg('--warmup-inferences'),
      3,
    )
    .option(
      '--shutdown-delay-ms <ms>',
      'on SIGTERM, fail readiness this long before closing',
      intArg('--shutdown-delay-ms'),
      0,
    )
    .option('--enable-faults', 'enable fault injection and the /admin/faults API', false)
    .addOption(new Option('--admin-token <token>', 'bearer token of the admin API').env(TOKEN_ENV))
    .option(
      '--fault <mode[:k=v,...]>',
      `fault active from the start (repeatable); modes: ${FAULT_MODES.join(', ')}`,
      collectFault,
      [],
    )
    .option('--log-level <level>', 'log level (fatal, error, warn, info, debug)', 'warn')
    .action(async (opts) => {
      const faultArgs: string[] = opts.fault;
      if (faultArgs.length > 0 && !opts.enableFaults) {
        program.error('--fault needs --enable-faults', { exitCode: 2 });
      }
      if (opts.grpcRawOutputs && opts.grpcPort === undefined) {
        program.error('--grpc-raw-outputs needs --grpc-port', { exitCode: 2 });
      }
      let token: string | undefined = opts.adminToken;
      if (opts.enableFaults && !token) {
        token = randomBytes(16).toString('hex');
        console.log(`admin token (generated; set ${TOKEN_ENV} to choose one): ${token}`);
      }
      const server = await createModelServer({
        models: opts.models,
        loadingMs: opts.loadingMs,
        warmupInferences: opts.warmupInferences,
        faults: { enabled: opts.enableFaults, token, initial: faultArgs.map(parseFaultArg) },
        logLevel: opts.logLevel,
        handleSignals: true,
        shutdownDelayMs: opts.shutdownDelayMs,
      });
      const url = await server.listen({ host: opts.host, port: opts.port });
      const names = [...server.models.keys()].join(', ');
      console.log(`serving ${names} at ${url}`);
      if (opts.grpcPort !== undefined) {
        const grpcUrl = await server.listenGrpc({
          host: opts.host,
          port: opts.grpcPort,
          rawOutputs: opts.grpcRawOutputs,
        });
        console.log(`serving ${names} over gRPC at ${grpcUrl}`);
      }
    });

  const fault = program
    .command('fault')
    .description('switch faults on a running server (needs --enable-faults there)');
  const common = (cmd: Command) =>
    cmd
      .requiredOption('--url <url>', 'base URL of the server, e.g. http://127.0.0.1:8081')
      .addOption(new Option('--token <token>', 'admin bearer token').env(TOKEN_ENV));

  common(
    fault
      .command('set <mode> [params...]')
      .description(`activate a fault: ${FAULT_MODES.join(', ')}; params as key=value`),
  ).action(async (mode: string, params: string[], opts) => {
    let parsed: ReturnType<typeof parseFaultArg>;
    try {
      parsed = parseFaultArg(params.length > 0 ? `${mode}:${params.join(',')}` : mode);
    } catch (err) {
      if (err instanceof FaultError) program.error(err.message, { exitCode: 2 });
      throw err;
    }
    await admin('PUT', `/admin/faults/${parsed.mode}`, opts, parsed.params);
  });
  common(fault.command('clear [mode]').description('clear one fault, or all')).action(
    async (mode: string | undefined, opts) => {
      await admin('DELETE', mode ? `/admin/faults/${mode}` : '/admin/faults', opts);
    },
  );
  common(fault.command('list').description('list active faults')).action(async (opts) => {
    await admin('GET', '/admin/faults', opts);
  });

  return program;
}

/** Runs the CLI; usage errors exit 2. */
export async function main(argv: string[] = process.argv): Promise<void> {
  try {
    await createProgram().parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : 2);
    console.error(`error: ${(err as Error).message}`);
    process.exit(1);
  }
}
