// The English text the fixture tokenizer's merges are learned from: written for this project,
// so it carries no licence of its own. Common words appear often enough to become single
// tokens; the chat turns teach the template's markers.
export const corpus = `
Once upon a time there was a little town by the sea. The people of the town were kind, and they
worked hard every day. In the morning the fishermen went out to sea, and in the evening they came
home with their boats full of fish. The children played on the beach and built castles in the sand.
One day a young girl named Lily found a small box in the sand. It was old and made of wood. She
opened it and saw a map inside. The map showed an island far away, with a large tree and a red mark
under it. Lily ran home to show the map to her mother. Her mother looked at it for a long time and
then said that it was the map of her grandfather, who had been a sailor many years ago.
The next day Lily and her friend Tom took a boat and sailed to the island. The sun was warm and the
water was calm. When they arrived, they walked through the forest until they found the large tree.
They dug under it and found a chest. There was no gold in the chest, but there were many letters
and a book of stories. Lily and Tom read the stories all afternoon, and they learned that her
grandfather had traveled to many countries and had met many people. They took the book home, and
every night Lily read one of the stories to her little brother before he went to sleep.

A model server is a program that loads machine learning models and answers requests over the
network. A client sends a prompt, and the server returns text, one token at a time, so that the user
can read the answer while it is being written. The server keeps the model in memory, because loading
it from the disk takes time. It can run on a processor or on a graphics card, and it should use the
fastest hardware that is available. When many people send requests at the same time, the server puts
them in a queue and works through them in order. If the queue is full, it tells the client to try
again later instead of waiting forever. Good servers also report how long each step took, how many
tokens were generated, and how much memory the models use.
Object detection finds things in a picture and draws a box around each of them. Image classification
looks at the whole picture and says what it shows. Both take an image as input, change its size to
what the model expects, and turn the numbers the model returns into boxes, labels and scores.

The weather was cold in the winter, and the snow covered the hills. The farmers stayed in their
houses and fixed their tools. In the spring the snow melted, the rivers grew wide, and the fields
turned green again. Birds came back from the south and sang in the trees. The farmers planted wheat
and corn, and the children helped them in the fields after school. In the summer the days were long
and hot, and everyone went to the lake to swim. In the autumn the leaves turned yellow and red, and
the farmers brought in the harvest. Then the year began again, as it always had, and as it always will.

<|system|>
You are a friendly assistant who answers questions in a short and clear way.</s>
<|user|>
What is the capital of France?</s>
<|assistant|>
The capital of France is Paris.</s>
<|user|>
How many days are there in a week?</s>
<|assistant|>
There are seven days in a week.</s>
<|user|>
Can you tell me a short story about a cat?</s>
<|assistant|>
Once there was a cat who lived in a small house by the river. Every morning the cat sat by the
window and watched the boats go by. One day a bird landed on the window, and the cat and the bird
became friends.</s>
<|user|>
Why is the sky blue?</s>
<|assistant|>
The sky is blue because the air scatters the blue light of the sun more than the other colors.</s>
`;
