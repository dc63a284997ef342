import json
from pathlib import Path
E = []
def m(student, description, cell, find, replace, loses, says, names_cause=True, more=()):
    edits = [{"cell": cell, "find": find, "replace": replace}] + [dict(cell=c, find=f, replace=r) for c, f, r in more]
    E.append(dict(student=student, assignment="a3_torch_cnn", description=description, edits=edits,
                  loses=loses, says=says, names_cause=names_cause if loses else None))
M, T, TR = "a3-models", "a3-table", "a3-train"
m("a3-dropout-not-2d", "Model A's conv2_drop is an nn.Dropout (drops single activations) instead of the nn.Dropout2d the architecture asks for (drops whole channels)",
  M, "self.conv2_drop = nn.Dropout2d()", "self.conv2_drop = nn.Dropout()", ["a3-models-tests"], {"a3-models-tests": "Dropout2d"})
m("a3-dropout-unused", "Model A declares conv2_drop but its forward never applies it",
  M, "x = F.relu(F.max_pool2d(self.conv2_drop(self.conv2(x)), 2))", "x = F.relu(F.max_pool2d(self.conv2(x), 2))", ["a3-models-tests"], {"a3-models-tests": "dropout"})
m("a3-modelb-no-relu-fc2", "Model B forgets the ReLU after fc2 (two linear layers in a row)",
  M, "x = F.relu(self.fc2(x))", "x = self.fc2(x)", ["a3-models-tests"], {"a3-models-tests": "Model B forward pass"}, False)
m("a3-modelb-log-softmax", "Model B returns log_softmax of the logits although the course convention is raw logits + F.cross_entropy",
  M, "return self.fc3(x)", "return F.log_softmax(self.fc3(x), dim=1)", ["a3-models-tests"], {"a3-models-tests": "log-probabilities"})
m("a3-modela-softmax", "Model A ends with a softmax, then F.cross_entropy applies log-softmax a second time",
  M, "return self.fc(x.flatten(start_dim=1))", "return F.softmax(self.fc(x.flatten(start_dim=1)), dim=1)", ["a3-models-tests", "a3-accuracy-a-tests"], {"a3-models-tests": "probabilities"})
m("a3-modelb-conv1-no-bias", "Model B's conv1 built with bias=False",
  M, "self.conv1 = nn.Conv2d(1, 6, kernel_size=5)", "self.conv1 = nn.Conv2d(1, 6, kernel_size=5, bias=False)", ["a3-models-tests", "a3-accuracy-b-tests"], {"a3-models-tests": "conv1"})
m("a3-table-conv-in-out", "parameter table: Model A's conv1 weight written (C_in, C_out, k, k) instead of PyTorch's (C_out, C_in, k, k)",
  T, '"conv1": {"weight": (10, 1, 5, 5)', '"conv1": {"weight": (1, 10, 5, 5)', ["a3-table-model-a-tests"], {"a3-table-model-a-tests": "conv1"}, False)
m("a3-table-count-no-bias", "parameter table: Model A's conv2 count leaves out the 20 biases",
  T, '"count": 5_020', '"count": 5_000', ["a3-table-model-a-tests"], {"a3-table-model-a-tests": "count must equal the number of weights plus the number of biases"}, False)
m("a3-table-mlp-transposed", "parameter table: the MLP's fc1 weight written (in, out) = (784, 128) instead of nn.Linear's (out, in)",
  T, '"fc1":   {"weight": (128, 784)', '"fc1":   {"weight": (784, 128)', ["a3-table-mlp-tests"], {"a3-table-mlp-tests": "fc1"}, False)
m("a3-table-lenet-400", "parameter table: Model B's fc1 takes 16*5*5 = 400 inputs (LeNet on 32x32 images) instead of 16*4*4 = 256 on 28x28",
  T, '"fc1":   {"weight": (120, 256), "bias": (120,), "count": 30_840}', '"fc1":   {"weight": (120, 400), "bias": (120,), "count": 48_120}', ["a3-table-model-b-tests"], {"a3-table-model-b-tests": "fc1"}, False)
m("a3-zero-grad-between", "optimizer.zero_grad() called between loss.backward() and optimizer.step(): every step sees zero gradients",
  TR, "optimizer.zero_grad()  # clear the gradients of the previous batch\n        loss.backward()\n",
  "loss.backward()\n        optimizer.zero_grad()  # clear the gradients of the previous batch\n",
  ["a3-train-tests", "a3-accuracy-a-tests", "a3-accuracy-b-tests"], {"a3-train-tests": "sits between loss.backward() and optimizer.step()"})
m("a3-no-zero-grad", "optimizer.zero_grad() forgotten: the gradients pile up over the batches",
  TR, "optimizer.zero_grad()  # clear the gradients of the previous batch\n", "",
  ["a3-train-tests", "a3-accuracy-a-tests", "a3-accuracy-b-tests"], {"a3-train-tests": "gradients pile up"})
m("a3-label-smoothing", "training loss with label_smoothing=0.1 where the plain cross-entropy is asked",
  TR, "loss = F.cross_entropy(logits, y)\n        optimizer.zero_grad()", "loss = F.cross_entropy(logits, y, label_smoothing=0.1)\n        optimizer.zero_grad()",
  ["a3-train-tests"], {"a3-train-tests": "label smoothing"})
m("a3-no-train-mode", "train_one_epoch never calls model.train(): after the first validation the model trains in eval mode (dropout off)",
  TR, "model.train()\n", "", ["a3-train-tests"], {"a3-train-tests": "model.train()"})
m("a3-log-off-by-one", "losses logged at batches k-1, 2k-1, ... ((batch + 1) % log_interval) instead of 0, k, 2k, ...",
  TR, "if batch % log_interval == 0:", "if (batch + 1) % log_interval == 0:", ["a3-train-tests"], {"a3-train-tests": "batches 0"})
m("a3-test-mean-of-means", "test_one_epoch adds the batch means and divides by the number of examples",
  TR, 'total_loss += F.cross_entropy(logits, y, reduction="sum").item()', "total_loss += F.cross_entropy(logits, y).item()",
  ["a3-test-tests", "a3-eval-mode-tests"], {"a3-test-tests": "sum of the batch means divided by the number of examples"})
m("a3-test-no-eval", "test_one_epoch never calls model.eval(): dropout stays on while testing",
  TR, "model.eval()\n    total_loss, n_correct, count = 0.0, 0, 0", "total_loss, n_correct, count = 0.0, 0, 0",
  ["a3-test-tests", "a3-eval-mode-tests"], {"a3-test-tests": "model.eval()"})
m("a3-test-accuracy-not-count", "test_one_epoch returns the accuracy where the number of correct predictions is asked",
  TR, "return total_loss / count, n_correct\n", "return total_loss / count, n_correct / count\n",
  ["a3-test-tests", "a3-eval-mode-tests"], {"a3-test-tests": "not the accuracy"})
m("a3-sgd-no-momentum", "make_optimizer forgets momentum=0.9",
  TR, "return torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)", "return torch.optim.SGD(model.parameters(), lr=LR)",
  ["a3-optimizer-tests"], {"a3-optimizer-tests": "SGD without momentum"})
# correct alternatives
m("a3-alt-model-a-relu-then-pool", "Model A applies ReLU before max-pooling (the two commute: same function)",
  M, "x = F.relu(F.max_pool2d(self.conv1(x), 2))", "x = F.max_pool2d(F.relu(self.conv1(x)), 2)", [], {})
m("a3-alt-inference-mode", "test_one_epoch evaluates under torch.inference_mode() instead of torch.no_grad()",
  TR, "with torch.no_grad():", "with torch.inference_mode():", [], {})
m("a3-alt-view-flatten", "Model B flattens with x.view(x.size(0), -1) instead of x.flatten(start_dim=1)",
  M, "x = x.flatten(start_dim=1)\n        x = F.relu(self.fc1(x))", "x = x.view(x.size(0), -1)\n        x = F.relu(self.fc1(x))", [], {})
p = Path("tests/corpus/notebooks/a3_torch_cnn.json")
d = json.loads(p.read_text()); d["students"] = E
p.write_text(json.dumps(d, indent=1, ensure_ascii=False) + "\n")
print(len(E))
