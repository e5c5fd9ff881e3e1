# Word embeddings: nn.Embedding lookups, an N-gram language model and cosine similarity.
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(9)
word_to_ix = {"hello": 0, "world": 1}
embeds = nn.Embedding(2, 5)
lookup_tensor = torch.tensor([word_to_ix["hello"]], dtype=torch.long)
hello_embed = embeds(lookup_tensor)
print(hello_embed)

CONTEXT_SIZE = 2
EMBEDDING_DIM = 6
sentence = """the quick brown fox jumps over the lazy dog and the quick cat sleeps""".split()
ngrams = [([sentence[i - j - 1] for j in range(CONTEXT_SIZE)], sentence[i])
          for i in range(CONTEXT_SIZE, len(sentence))]
print(ngrams[:2])
vocab = sorted(set(sentence))
word_to_ix = {w: i for i, w in enumerate(vocab)}


class NGramLanguageModeler(nn.Module):
    def __init__(self, vocab_size, embedding_dim, context_size):
        super(NGramLanguageModeler, self).__init__()
        self.embeddings = nn.Embedding(vocab_size, embedding_dim)
        self.linear1 = nn.Linear(context_size * embedding_dim, 32)
        self.linear2 = nn.Linear(32, vocab_size)

    def forward(self, inputs):
        embeds = self.embeddings(inputs).view((1, -1))
        out = F.relu(self.linear1(embeds))
        out = self.linear2(out)
        log_probs = F.log_softmax(out, dim=1)
        return log_probs


losses = []
loss_function = nn.NLLLoss()
model = NGramLanguageModeler(len(vocab), EMBEDDING_DIM, CONTEXT_SIZE)
optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
for epoch in range(5):
    total_loss = 0
    for context, target in ngrams:
        context_idxs = torch.tensor([word_to_ix[w] for w in context], dtype=torch.long)
        model.zero_grad()
        log_probs = model(context_idxs)
        loss = loss_function(log_probs, torch.tensor([word_to_ix[target]], dtype=torch.long))
        loss.backward()
        optimizer.step()
        total_loss += loss.item()
    losses.append(total_loss)
print([round(l, 3) for l in losses])
e = model.embeddings.weight
print(e[word_to_ix["quick"]])
sim = F.cosine_similarity(e[word_to_ix["fox"]].unsqueeze(0), e, dim=1)
print(sim)
print(torch.topk(sim, 3))

pre = torch.FloatTensor([[1, 2.3, 3], [4, 5.1, 6.3]])
emb = nn.Embedding.from_pretrained(pre)
print(emb(torch.LongTensor([1])))
bag = nn.EmbeddingBag(10, 3, mode='mean')
print(bag(torch.tensor([1, 2, 4, 5, 4, 3, 2, 9]), torch.tensor([0, 4])).detach())
pad = nn.Embedding(5, 2, padding_idx=0)
print(pad.weight[0], pad(torch.tensor([[0, 2], [1, 0]])).shape)
