#!/usr/bin/env node
// Compiles the dev-chain test token (core/contracts/TestToken.sol) with the npm `solc` package
// (pinned in package.json) and writes its ABI and creation bytecode to core/contracts/TestToken.json.
// The Rust code embeds that committed JSON, so building PayIn never needs Node.
//
//   node scripts/compile-contracts.js            # rewrite the artifact
//   node scripts/compile-contracts.js --stdout   # print the artifact instead (used by the freshness test)
'use strict';

const fs = require('fs');
const path = require('path');
const solc = require('solc');

const contracts = path.join(__dirname, '..', 'core', 'contracts');
const sourceName = 'TestToken.sol';
const contractName = 'TestToken';

// Bytecode must depend on the source and these settings only: no metadata hash (which would change
// with line endings or paths), a fixed EVM version every anvil hardfork accepts.
const input = {
  language: 'Solidity',
  sources: { [sourceName]: { content: fs.readFileSync(path.join(contracts, sourceName), 'utf8') } },
  settings: {
    evmVersion: 'cancun',
    optimizer: { enabled: true, runs: 200 },
    metadata: { appendCBOR: false, bytecodeHash: 'none' },
    outputSelection: { [sourceName]: { [contractName]: ['abi', 'evm.bytecode.object'] } },
  },
};

const output = JSON.parse(solc.compile(JSON.stringify(input)));
const errors = (output.errors || []).filter((e) => e.severity === 'error');
for (const e of output.errors || []) {
  process.stderr.write(e.formattedMessage + '\n');
}
if (errors.length > 0) {
  process.exit(1);
}

const compiled = output.contracts[sourceName][contractName];
const artifact = {
  contractName,
  source: `core/contracts/${sourceName}`,
  compiler: `solc ${solc.version()}`,
  settings: input.settings,
  abi: compiled.abi,
  bytecode: '0x' + compiled.evm.bytecode.object,
};
const text = JSON.stringify(artifact, null, 2) + '\n';

if (process.argv.includes('--stdout')) {
  process.stdout.write(text);
} else {
  const out = path.join(contracts, `${contractName}.json`);
  fs.writeFileSync(out, text);
  process.stderr.write(`wrote ${path.relative(process.cwd(), out)}\n`);
}
