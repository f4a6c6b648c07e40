import numpy as np, qa, sys
from qa.search import min_max
idx = qa.Index.load('/tmp/qi'); c = idx._contents; n=len(c.passages)
q = sys.argv[1]; target = sys.argv[2]
t = [i for i,p in enumerate(c.passages) if target in p.text][0]
d, per = idx._dense_scores(c, q)
k = c.keyword.scores(q)
P = c.paragraph_vectors.reconstruct_n(0,n); qq = idx.encoder.encode_queries([q])[0]
para = P@qq
def rank(a, i): return int((a > a[i]).sum())+1
print('target', t, 'dense rank', rank(d,t), 'para rank', rank(para,t), 'kw rank', rank(k,t))
print('best win for target', max(per.get(t,{}).values(), default=None), 'para', para[t], 'd', d[t])
for i in np.argsort(-d)[:5]: print(i, d[i], para[i], max(per.get(int(i),{}).values(), default=None), c.passages[i].text[:30])
for i in np.argsort(-k)[:5]: print(i, k[i], c.passages[i].text[:30])
