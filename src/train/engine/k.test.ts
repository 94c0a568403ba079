import { it, expect } from 'vitest';
import { tf } from '../../models/tf.js';
import { selectBackend } from '../../models/backend.js';
import { registerGradients } from '../../train/engine/gradients.js';
import { registerWasmGradKernels } from '../../train/engine/wasm-grad-kernels.js';
it('k', async () => {
  await registerGradients();
  registerWasmGradKernels();
  const cases = [[2,9,9,3,3,4,1,1],[2,10,10,3,7,5,2,3],[2,8,8,4,1,6,2,0],[3,7,7,4,3,4,2,1]];
  for (const [b,h,w,c,k,o,s,p] of cases as [number,number,number,number,number,number,number,number][]) {
    const run = async (be: string) => { await selectBackend(be as 'cpu'); 
      const x = tf.tensor4d(Array.from({length:b*h*w*c},(_,i)=>Math.sin(i*0.37)), [b,h,w,c]);
      const f = tf.tensor4d(Array.from({length:k*k*c*o},(_,i)=>Math.cos(i*0.11)), [k,k,c,o]);
      const g = tf.grads((x: tf.Tensor, f: tf.Tensor) => tf.sum(tf.square(tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, s, p === 0 ? 'valid' : p))));
      const [gx, gf] = g([x, f]);
      return [await gx!.data(), await gf!.data()]; };
    const a = await run('cpu'); const bb = await run('wasm');
    let m = 0; for (let q=0;q<2;q++) for (let i=0;i<a[q]!.length;i++) m = Math.max(m, Math.abs(a[q]![i]! - bb[q]![i]!) / (1 + Math.abs(a[q]![i]!)));
    console.log(b,h,w,c,k,o,s,p,'maxrel', m);
    expect(m).toBeLessThan(1e-4);
  }
});
