/**
 * `lmj-edge token create|list|revoke`: API tokens of the HTTP API (src/http/api-tokens.ts).
 * The file is `--api-tokens FILE`, else `LMJ_EDGE_API_TOKENS`, else `http.apiTokensFile`
 * of `--config FILE`. `create` prints the token once on stdout; the file keeps its hash.
 * `lmj-edge token gateway <id> --tokens FILE`: a gateway's upload token for the router's
 * `--tokens` file (src/router/tokens.ts), printed once, stored hashed.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../../gateway/config/index.js';
import { createApiToken, generateApiToken, readTokensFile, revokeApiToken } from '../../http/api-tokens.js';
import { addGatewayToken } from '../../router/tokens.js';
import { LmjError } from '../../errors.js';
import { fail, printTable } from '../output.js';

interface FileFlags {
  apiTokens?: string;
  config?: string;
}

function tokensFile(flags: FileFlags): string {
  const config = loadConfig({ file: flags.config, env: process.env, flags: { apiTokens: flags.apiTokens } });
  const file = config.http.apiTokensFile;
  if (file === undefined) throw new LmjError('BAD_REQUEST', 'no tokens file: pass --api-tokens FILE (or set LMJ_EDGE_API_TOKENS, or http.apiTokensFile in --config)');
  return file;
}

function withFileOptions(cmd: Command): Command {
  return cmd
    .option('--api-tokens <file>', 'API tokens file (created by the first create)')
    .option('--config <file>', 'JSON config file whose http.apiTokensFile names the tokens file');
}

/** Adds the `token` command group. */
export function registerToken(program: Command): void {
  const token = program.command('token').description('API tokens (scopes read, admin) for the HTTP API of the gateway and the router');
  withFileOptions(token.command('create'))
    .description('make a token, print it once on stdout, append its hash to the tokens file')
    .requiredOption('--scope <scope>', 'read (devices, readings, queries, dashboard, metrics) or admin (also dead letters, retention runs)')
    .option('--name <name>', 'a unique name (default <scope>-<n>)')
    .action((flags: FileFlags & { scope: string; name?: string }) => {
      try {
        if (flags.scope !== 'read' && flags.scope !== 'admin') throw new LmjError('BAD_REQUEST', `--scope must be read or admin, got ${flags.scope}`);
        const file = tokensFile(flags);
        const { token: secret, entry } = createApiToken(file, flags.scope, flags.name);
        process.stdout.write(`${secret}\n`);
        process.stderr.write(`token ${entry.name} (scope ${entry.scope}) added to ${file}; it is shown only now, keep it\n`);
      } catch (err) {
        fail(err, 2);
      }
    });
  withFileOptions(token.command('list'))
    .description('list the tokens (names, scopes, creation times; never the tokens)')
    .action((flags: FileFlags) => {
      try {
        const entries = readTokensFile(tokensFile(flags));
        printTable(['NAME', 'SCOPE', 'CREATED'], entries.map((e) => [e.name, e.scope, e.createdAt]));
      } catch (err) {
        fail(err, 2);
      }
    });
  withFileOptions(token.command('revoke'))
    .description('remove a token; running processes stop accepting it within about a second')
    .argument('<name>', 'the token name')
    .action((name: string, flags: FileFlags) => {
      try {
        const file = tokensFile(flags);
        revokeApiToken(file, name);
        process.stderr.write(`token ${name} revoked in ${file}\n`);
      } catch (err) {
        fail(err, 2);
      }
    });
  token
    .command('gateway')
    .description("make gateway <id>'s upload token: print it once (give it to the gateway as LMJ_EDGE_UPSTREAM_TOKEN), store its hash in the router's --tokens file")
    .argument('<id>', 'the gateway id (its --gateway-id)')
    .requiredOption('--tokens <file>', "the router's gateway tokens file (created when missing; an existing token of <id> is replaced)")
    .action((id: string, flags: { tokens: string }) => {
      try {
        const secret = generateApiToken();
        addGatewayToken(resolve(flags.tokens), id, secret);
        process.stdout.write(`${secret}\n`);
        process.stderr.write(`gateway ${id}: token stored (hashed) in ${resolve(flags.tokens)}; restart the router to load it\n`);
      } catch (err) {
        fail(err, 2);
      }
    });
}
