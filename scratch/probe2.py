import numpy as np, qa
from qa.search import min_max
from qa.lexical import KeywordIndex, tokenize
idx = qa.Index.load('/tmp/qi'); c = idx._contents; n=len(c.passages)
q='2020年乐平市的地区生产总值是多少？'
print(tokenize(q))
P = c.paragraph_vectors.reconstruct_n(0,n); W=c.window_vectors.reconstruct_n(0,c.window_vectors.ntotal)
Ps = idx.encoder.encode_passages([(p.section_path + '\n' + p.text) if p.section else p.text for p in c.passages])
qq = idx.encoder.encode_queries([q])[0]
bq = np.full(n,-1.0)
for j,(row,f_,e) in enumerate(c.windows): bq[row]=max(bq[row], float(W[j]@qq))
kw2 = KeywordIndex.build([p.section_path + ' ' + p.text for p in c.passages], 'bigram').scores(q)
kw1 = c.keyword.scores(q)
print('kw1', kw1[6], kw1[40], 'kw2', kw2[6], kw2[40])
for pn, pv in [('P',P@qq),('Ps',Ps@qq)]:
    d=np.where(bq>-1, 0.5*pv+0.5*bq, pv)
    print(pn, 'd6', d[6], 'd40', d[40], 'rank6', int((d>d[6]).sum())+1)
    for kn, k in [('kw1',kw1),('kw2',kw2)]:
        for w in (0.2,0.3,0.4):
            s=w*min_max(k)+(1-w)*min_max(d); print(pn,kn,w,'top',int(np.argsort(-s)[0]),'rank6',int((s>s[6]).sum())+1)
